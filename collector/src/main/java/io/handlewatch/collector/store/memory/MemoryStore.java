package io.handlewatch.collector.store.memory;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.LatestReports;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoreHealth;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The embedded store: every host's recent history in the collector's heap, so the quick start needs
 * nothing installed. History is kept for {@code retention} and under a total of {@code maxBytes}:
 * when a write would pass the cap, the oldest reports fleet-wide are evicted first.
 *
 * <p>Samples are columns of primitives ({@link Series}), about 8 bytes per value. The eviction
 * order is a ring of (report time, host) in arrival order: evicting its head drops that report's
 * samples (and anything older) from that host.
 */
public final class MemoryStore implements SampleStore {
  private final ConcurrentHashMap<String, HostHistory> hosts = new ConcurrentHashMap<>();
  private final LatestReports latest = new LatestReports();
  private final AtomicLong seriesBytes = new AtomicLong();
  private final long maxBytes;
  private final long retentionMs;
  private final Clock clock;
  private final Meter pointsWritten;
  private final Counter evicted;

  // The eviction ring; guarded by itself.
  private final Object ringLock = new Object();
  private long[] ringTimes = new long[1024];
  private HostHistory[] ringHosts = new HostHistory[1024];
  private int ringHead;
  private int ringSize;

  public MemoryStore(long maxBytes, Duration retention, Clock clock, MetricRegistry metrics) {
    this.maxBytes = maxBytes;
    this.retentionMs = retention.toMillis();
    this.clock = clock;
    this.pointsWritten = metrics.meter("store.memory.points.written");
    this.evicted = metrics.counter("store.memory.samples.evicted");
    metrics.gauge("store.memory.bytes", () -> this::bytes);
    metrics.gauge("store.memory.hosts", () -> latest::hosts);
    metrics.gauge("store.memory.series", () -> this::seriesCount);
  }

  @Override
  public CompletableFuture<WriteOutcome> write(HostReport report) {
    List<StoredPoint> points = ReportPoints.of(report);
    String host = ReportPoints.hostOf(report);
    HostHistory h = hosts.computeIfAbsent(host, HostHistory::new);
    seriesBytes.addAndGet(h.put(points));
    latest.update(report);
    pointsWritten.mark(points.size());
    synchronized (ringLock) {
      push(ReportPoints.timeOf(report).toEpochMilli(), h);
      evict();
    }
    return CompletableFuture.completedFuture(WriteOutcome.written(points.size()));
  }

  @Override
  public CompletableFuture<WriteOutcome> writePoints(List<StoredPoint> points) {
    // Grouped by host and time, each group evicted like the report it belongs with.
    Map<String, Map<Long, List<StoredPoint>>> groups = new TreeMap<>();
    for (StoredPoint p : points) {
      groups
          .computeIfAbsent(p.host() == null ? "-" : p.host(), h -> new TreeMap<>())
          .computeIfAbsent(p.time().toEpochMilli(), t -> new ArrayList<>())
          .add(p);
    }
    for (var byHost : groups.entrySet()) {
      HostHistory h = hosts.computeIfAbsent(byHost.getKey(), HostHistory::new);
      for (var byTime : byHost.getValue().entrySet()) {
        seriesBytes.addAndGet(h.put(byTime.getValue()));
        synchronized (ringLock) {
          push(byTime.getKey(), h);
          evict();
        }
      }
    }
    pointsWritten.mark(points.size());
    return CompletableFuture.completedFuture(WriteOutcome.written(points.size()));
  }

  /** Total bytes held: series, latest reports, and the eviction ring. */
  public long bytes() {
    return seriesBytes.get() + latest.bytes() + ringBytes();
  }

  private long ringBytes() {
    return 12L * ringTimes.length;
  }

  private int seriesCount() {
    int n = 0;
    for (HostHistory h : hosts.values()) n += h.seriesCount();
    return n;
  }

  private void push(long time, HostHistory h) {
    if (ringSize == ringTimes.length) {
      int cap = ringTimes.length * 2;
      long[] t = new long[cap];
      HostHistory[] hs = new HostHistory[cap];
      for (int i = 0; i < ringSize; i++) {
        int j = (ringHead + i) % ringTimes.length;
        t[i] = ringTimes[j];
        hs[i] = ringHosts[j];
      }
      ringTimes = t;
      ringHosts = hs;
      ringHead = 0;
    }
    int tail = (ringHead + ringSize) % ringTimes.length;
    ringTimes[tail] = time;
    ringHosts[tail] = h;
    ringSize++;
  }

  /** Pops reports from the ring head while over the cap or past retention. Holds ringLock. */
  private void evict() {
    long expiredBefore = clock.millis() - retentionMs;
    while (ringSize > 0 && (bytes() > maxBytes || ringTimes[ringHead] < expiredBefore)) {
      long t = ringTimes[ringHead];
      HostHistory h = ringHosts[ringHead];
      ringHosts[ringHead] = null;
      ringHead = (ringHead + 1) % ringTimes.length;
      ringSize--;
      seriesBytes.addAndGet(h.evictUpTo(t));
      evicted.inc();
    }
  }

  @Override
  public Optional<HostReport> latest(String host) {
    return latest.get(host);
  }

  @Override
  public List<HostReport> latestPerHost() {
    return latest.all();
  }

  @Override
  public Optional<Duration> reportInterval(String host) {
    return latest.interval(host);
  }

  @Override
  public List<SeriesPoint> series(SeriesQuery query) {
    HostHistory h = hosts.get(query.host());
    if (h == null) return List.of();
    List<SeriesPoint> points = h.query(query);
    points.sort(Comparator.comparing(SeriesPoint::time));
    return points;
  }

  @Override
  public List<StoredPoint> history(
      String host, Set<String> measurements, Instant from, Instant to) {
    HostHistory h = hosts.get(host);
    if (h == null) return List.of();
    List<StoredPoint> points = h.history(measurements, from.toEpochMilli(), to.toEpochMilli());
    points.sort(Comparator.comparing(StoredPoint::time));
    return points;
  }

  @Override
  public StoreHealth check() {
    return StoreHealth.ok(
        String.format(
            "memory store: %d hosts, %.1f MiB of %.1f MiB",
            latest.hosts(), bytes() / 1048576.0, maxBytes / 1048576.0));
  }

  @Override
  public void close() {
    hosts.clear();
  }
}

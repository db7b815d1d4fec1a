package io.handlewatch.collector.detect;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreListener;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs detection beside ingest without ever slowing it: {@link #stored} (called once the store
 * holds a report) only offers the report to a bounded queue, and one thread evaluates reports in
 * arrival order. A full queue skips the report, counts it ({@code detect.queue.dropped}) and says
 * so in the log; a host's window tolerates the gap. Alert transitions go to the listeners added
 * with {@link #addAlertListener} (the notifiers), verdict points to the store.
 *
 * <p>A host new here (another collector behind the same address had it, this one restarted, or it
 * comes back after {@code releaseAfter}) is warmed first: its window and open incidents are read
 * from the store by a {@link WindowWarmer}, its reports wait meanwhile (in the bound of {@code
 * queueCapacity}), and once the read is back the detector thread rebuilds the window and judges the
 * waiting reports in order. If the store cannot answer, the host starts cold and the log says why.
 *
 * <p>Metrics: {@code detect.evaluations}, {@code detect.cost} (per report), {@code detect.lag}
 * (store ack to judged), {@code detect.queue.dropped}, {@code detect.queue.depth}, {@code
 * detect.alerts.firing}, {@code detect.transitions.firing|resolved|released}, {@code
 * detect.verdicts.<kind>.<severity>}, {@code detect.points.failed}, {@code
 * detect.warmup.hosts|cold|reports|incidents}, {@code detect.warmup.latency}, {@code
 * detect.warmup.waiting} (reads queued).
 */
public final class Detector implements Managed, StoreListener {
  private static final Logger log = LoggerFactory.getLogger(Detector.class);

  private final DetectionEngine engine;
  private final ArrayBlockingQueue<HostReport> queue;
  private final Clock clock;
  private final Duration sweepEvery;
  private final List<Consumer<Alert>> listeners = new CopyOnWriteArrayList<>();
  private final MetricRegistry metrics;
  private final Meter evaluations;
  private final Timer cost;

  /**
   * Store ack to judged ({@code detect.lag}), per host: when the oldest of its reports not yet
   * judged was stored. Reports that arrive while an older one waits share its entry, so the timer
   * counts the oldest (the longest wait) of each run.
   */
  private final Timer lag;

  private final ConcurrentHashMap<String, Long> storedAt = new ConcurrentHashMap<>();
  private final Counter dropped;
  private final Counter pointsFailed;
  private final Counter firing;
  private final Counter resolved;
  private final Counter released;
  private final WindowWarmer warmer;
  private final Counter warmedHosts;
  private final Counter coldHosts;
  private final Counter warmedReports;
  private final Counter takenOver;
  private final Timer warmLatency;
  private final AtomicLong coldSinceLog = new AtomicLong();

  /** Reports of hosts being warmed, in arrival order; detector thread only. */
  private final Map<String, List<HostReport>> waiting = new HashMap<>();

  private int waitingReports;
  private final int queueCapacity;

  /** Reads back from the warm-up threads, applied on the detector thread. */
  private final ConcurrentLinkedQueue<WindowWarmer.Warmth> warmed = new ConcurrentLinkedQueue<>();

  /** Queued to wake the detector thread when a read is back; never evaluated. */
  private static final HostReport WAKE = HostReport.getDefaultInstance();

  private final Map<String, Counter> verdictCounters = new ConcurrentHashMap<>();
  private final AtomicLong droppedSinceLog = new AtomicLong();
  private volatile int openIncidents;
  private volatile Thread thread;
  private volatile boolean running;

  public Detector(DetectionFactory config, SampleStore store, MetricRegistry metrics, Clock clock) {
    this.metrics = metrics;
    this.clock = clock;
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity);
    this.sweepEvery = Duration.ofMillis(Math.max(1000, config.resolution.toMilliseconds()));
    this.evaluations = metrics.meter("detect.evaluations");
    this.cost = metrics.timer("detect.cost");
    this.lag = metrics.timer("detect.lag");
    this.dropped = metrics.counter("detect.queue.dropped");
    this.pointsFailed = metrics.counter("detect.points.failed");
    this.firing = metrics.counter("detect.transitions.firing");
    this.resolved = metrics.counter("detect.transitions.resolved");
    this.released = metrics.counter("detect.transitions.released");
    this.warmedHosts = metrics.counter("detect.warmup.hosts");
    this.coldHosts = metrics.counter("detect.warmup.cold");
    this.warmedReports = metrics.counter("detect.warmup.reports");
    this.takenOver = metrics.counter("detect.warmup.incidents");
    this.warmLatency = metrics.timer("detect.warmup.latency");
    this.queueCapacity = config.queueCapacity;
    metrics.gauge("detect.queue.depth", () -> queue::size);
    metrics.gauge("detect.alerts.firing", () -> () -> openIncidents);
    this.warmer = config.warmUp.enabled ? new WindowWarmer(store, config) : null;
    metrics.gauge("detect.warmup.waiting", () -> () -> warmer == null ? 0 : warmer.waiting());
    this.engine =
        new DetectionEngine(
            config, this::transition, points -> write(store, points), h -> known(store, h));
  }

  /** Adds a receiver of alert transitions (a notifier). Called on the detector thread. */
  public void addAlertListener(Consumer<Alert> listener) {
    listeners.add(listener);
  }

  /** The read side for the API. */
  public DetectionView view() {
    return engine.view();
  }

  @Override
  public void stored(HostReport report) {
    // Detection lag starts at the store's ack: the oldest report of the host not yet judged.
    storedAt.putIfAbsent(ReportPoints.hostOf(report), System.nanoTime());
    if (!queue.offer(report)) skip(report);
  }

  private void skip(HostReport report) {
    dropped.inc();
    long n = droppedSinceLog.incrementAndGet();
    if (n == 1 || Long.bitCount(n) == 1) {
      log.warn(
          "detector queue full ({} reports): skipped report seq={} of host {} ({} skipped since"
              + " the last evaluation caught up; detection lags ingest)",
          queue.remainingCapacity() + queue.size(),
          report.getSeq(),
          ReportPoints.hostOf(report),
          n);
    }
  }

  @Override
  public void start() {
    running = true;
    thread = Thread.ofPlatform().name("detector").daemon(true).start(this::loop);
  }

  @Override
  public void stop() throws InterruptedException {
    running = false;
    Thread t = thread;
    if (t != null) {
      t.interrupt();
      t.join(10_000);
    }
    if (warmer != null) warmer.close();
  }

  private void loop() {
    Instant nextSweep = clock.instant().plus(sweepEvery);
    while (running) {
      try {
        HostReport r = queue.poll(sweepEvery.toMillis(), TimeUnit.MILLISECONDS);
        if (r != null && r != WAKE) accept(r);
        for (WindowWarmer.Warmth w; (w = warmed.poll()) != null; ) warmed(w);
        Instant now = clock.instant();
        if (!now.isBefore(nextSweep)) {
          engine.sweep(now);
          openIncidents = engine.firing();
          nextSweep = now.plus(sweepEvery);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // One bad report must not end detection for the fleet.
        log.error("detector: evaluation failed, continuing", e);
      }
    }
  }

  /** A report off the queue: judged now, or held while its host's window is read. */
  private void accept(HostReport r) {
    if (warmer != null) {
      String host = ReportPoints.hostOf(r);
      List<HostReport> held = waiting.get(host);
      if (held != null) {
        hold(held, r);
        return;
      }
      if (engine.isNew(host, ReportPoints.timeOf(r))) {
        if (warmer.submit(host, ReportPoints.timeOf(r), this::readBack)) {
          held = new ArrayList<>();
          waiting.put(host, held);
          hold(held, r);
          return;
        }
        cold(host, "too many hosts wait for a read (detection.warmUp.maxWaiting)");
      }
    }
    evaluate(r);
  }

  private void hold(List<HostReport> held, HostReport r) {
    if (waitingReports >= queueCapacity) {
      skip(r); // the queue's bound and the same gap, counted and logged the same way
      return;
    }
    held.add(r);
    waitingReports++;
  }

  /** On a warm-up thread: hand the read to the detector thread, and wake it. */
  private void readBack(WindowWarmer.Warmth w) {
    warmed.add(w);
    queue.offer(WAKE); // a full queue wakes the thread anyway
  }

  /** On the detector thread: rebuild the host's window, then judge the reports that waited. */
  private void warmed(WindowWarmer.Warmth w) {
    warmLatency.update(w.took());
    if (w.failed()) {
      cold(w.host(), "the store could not answer: " + w.failure());
    } else {
      engine.warm(w.host(), w.history(), w.incidents());
      warmedHosts.inc();
      warmedReports.inc(w.history().size());
      takenOver.inc(w.incidents().size());
      if (w.unreadable() > 0) {
        log.warn(
            "host {}: {} verdict points name an incident that cannot be read back; skipped",
            w.host(),
            w.unreadable());
      }
      if (w.incidents().isEmpty()) {
        log.debug(
            "host {}: window warmed from the store: {} reports in {} ms",
            w.host(),
            w.history().size(),
            w.took().toMillis());
      } else {
        log.info(
            "host {}: window warmed from the store ({} reports in {} ms); taking over {} open"
                + " incident(s): {}",
            w.host(),
            w.history().size(),
            w.took().toMillis(),
            w.incidents().size(),
            w.incidents().stream().map(AlertBook.Inherited::dedupKey).toList());
      }
    }
    List<HostReport> held = waiting.remove(w.host());
    if (held == null) return;
    waitingReports -= held.size();
    for (HostReport r : held) evaluate(r);
  }

  private void cold(String host, String why) {
    coldHosts.inc();
    long n = coldSinceLog.incrementAndGet();
    if (n == 1 || Long.bitCount(n) == 1) {
      log.warn(
          "host {}: detection window not warmed, starting cold ({} host(s) so far): {}; a leak"
              + " under way pages again only after detection.minHistory",
          host,
          n,
          why);
    }
  }

  private void evaluate(HostReport r) {
    List<Verdict> verdicts;
    try (Timer.Context t = cost.time()) {
      verdicts = engine.evaluate(r);
    }
    Long since = storedAt.remove(ReportPoints.hostOf(r));
    if (since != null) lag.update(System.nanoTime() - since, TimeUnit.NANOSECONDS);
    evaluations.mark();
    openIncidents = engine.firing();
    if (queue.isEmpty()) droppedSinceLog.set(0);
    for (Verdict v : verdicts) {
      verdictCounters
          .computeIfAbsent(
              v.kind().tag() + "." + v.severity().label(),
              k -> metrics.counter("detect.verdicts." + k))
          .inc();
    }
  }

  private void transition(Alert a) {
    (switch (a.status()) {
          case FIRING -> firing;
          case RESOLVED -> resolved;
          case RELEASED -> released;
        })
        .inc();
    log.info(
        "alert {}: {} {} {} ({}){}",
        a.status().name().toLowerCase(java.util.Locale.ROOT),
        a.labels().get("severity"),
        a.labels().get("alertname"),
        a.dedupKey(),
        a.annotations().get("summary"),
        a.status() == Alert.Status.RELEASED
            ? "; its host stopped reporting here: no longer re-sent, not resolved"
            : "");
    for (Consumer<Alert> l : listeners) {
      try {
        l.accept(a);
      } catch (RuntimeException e) {
        log.error("alert listener failed on {} {}", a.status(), a.dedupKey(), e);
      }
    }
  }

  private void write(SampleStore store, List<StoredPoint> points) {
    store
        .writePoints(points)
        .whenComplete(
            (outcome, failure) -> {
              if (failure != null || outcome.pointsDropped() > 0) {
                pointsFailed.inc(points.size());
                log.warn(
                    "verdict points of host {} not stored ({} points): {}",
                    points.getFirst().host(),
                    points.size(),
                    failure != null ? failure.toString() : outcome.pointsDropped() + " dropped");
              }
            });
  }

  private static Map<String, String> known(SampleStore store, String host) {
    Map<String, String> out = new HashMap<>();
    store
        .latest(host)
        .ifPresent(
            r -> {
              for (Sysctl s : r.getSample().getSysctlsList()) out.put(s.getName(), s.getValue());
            });
    return out;
  }
}

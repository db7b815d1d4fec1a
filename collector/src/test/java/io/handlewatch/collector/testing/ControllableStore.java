package io.handlewatch.collector.testing;

import io.handlewatch.collector.store.LatestReports;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoreHealth;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A store for ingest unit tests whose writes complete only when the test says so, to show what
 * ingest does while the store is slow, out of order, or failing.
 */
public final class ControllableStore implements SampleStore {
  /** A write the store has been asked for and not yet answered. */
  public record Write(HostReport report, CompletableFuture<WriteOutcome> future) {
    public void complete() {
      future.complete(WriteOutcome.written(ReportPoints.of(report).size()));
    }
  }

  private final LinkedBlockingQueue<Write> writes = new LinkedBlockingQueue<>();
  private final LatestReports latest = new LatestReports();
  private final ConcurrentHashMap<String, ConcurrentSkipListSet<Long>> stored =
      new ConcurrentHashMap<>();
  private volatile boolean autoComplete;

  public ControllableStore autoComplete() {
    autoComplete = true;
    return this;
  }

  /** The next write ingest asked for, waiting up to 10 s; fails the test if none comes. */
  public Write next() throws InterruptedException {
    Write w = writes.poll(10, TimeUnit.SECONDS);
    if (w == null) throw new AssertionError("ingest sent no write to the store within 10 s");
    return w;
  }

  /** The next write within {@code wait}, or null if ingest asked for none. */
  public Write next(java.time.Duration wait) throws InterruptedException {
    return writes.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Writes asked for and not yet taken by {@link #next()}. */
  public int waiting() {
    return writes.size();
  }

  @Override
  public CompletableFuture<WriteOutcome> write(HostReport report) {
    var f = new CompletableFuture<WriteOutcome>();
    f.thenRun(
        () -> {
          latest.update(report);
          stored
              .computeIfAbsent(
                  report.getSample().getHost().getHostname(), h -> new ConcurrentSkipListSet<>())
              .add(report.getSeq());
        });
    Write w = new Write(report, f);
    if (autoComplete) {
      w.complete();
    } else {
      writes.add(w);
    }
    return f;
  }

  /** The seqs of a host's reports whose write completed, ascending. */
  public List<Long> seqs(String host) {
    var s = stored.get(host);
    return s == null ? List.of() : List.copyOf(s);
  }

  @Override
  public CompletableFuture<WriteOutcome> writePoints(
      List<io.handlewatch.collector.store.StoredPoint> points) {
    return CompletableFuture.completedFuture(WriteOutcome.written(points.size()));
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
  public List<SeriesPoint> series(SeriesQuery query) {
    return List.of();
  }

  @Override
  public StoreHealth check() {
    return StoreHealth.ok("controllable");
  }

  @Override
  public void close() {}
}

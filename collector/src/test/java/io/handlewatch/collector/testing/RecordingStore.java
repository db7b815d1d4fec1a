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

/** A store that keeps every report's seq per host, for tests that count what was stored. */
public final class RecordingStore implements SampleStore {
  private final ConcurrentHashMap<String, ConcurrentSkipListSet<Long>> seqs =
      new ConcurrentHashMap<>();
  private final LatestReports latest = new LatestReports();

  @Override
  public CompletableFuture<WriteOutcome> write(HostReport report) {
    String host = report.getSample().getHost().getHostname();
    seqs.computeIfAbsent(host, h -> new ConcurrentSkipListSet<>()).add(report.getSeq());
    latest.update(report);
    return CompletableFuture.completedFuture(WriteOutcome.written(ReportPoints.of(report).size()));
  }

  /** The seqs stored for a host, ascending. */
  public List<Long> seqs(String host) {
    var s = seqs.get(host);
    return s == null ? List.of() : List.copyOf(s);
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
    return StoreHealth.ok("recording");
  }

  @Override
  public void close() {}
}

package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.HostReport;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A store that tells a {@link StoreListener} about every report it stored in full, so the stages
 * after storage see exactly what the store holds without ingest knowing they exist. A report with
 * points dropped as malformed is not passed on: the store does not hold it either.
 */
public final class ListeningStore implements SampleStore {
  private static final Logger log = LoggerFactory.getLogger(ListeningStore.class);

  private final SampleStore delegate;
  private final StoreListener listener;

  public ListeningStore(SampleStore delegate, StoreListener listener) {
    this.delegate = delegate;
    this.listener = listener;
  }

  @Override
  public CompletableFuture<WriteOutcome> write(HostReport report) {
    CompletableFuture<WriteOutcome> written = delegate.write(report);
    written.thenAccept(
        outcome -> {
          if (outcome.pointsDropped() > 0) return;
          try {
            listener.stored(report);
          } catch (RuntimeException e) {
            // The report is stored and its ack must not depend on a later stage.
            log.error(
                "store listener failed on report seq={} of host {}",
                report.getSeq(),
                ReportPoints.hostOf(report),
                e);
          }
        });
    return written;
  }

  @Override
  public CompletableFuture<WriteOutcome> writePoints(List<StoredPoint> points) {
    return delegate.writePoints(points);
  }

  @Override
  public Optional<HostReport> latest(String host) {
    return delegate.latest(host);
  }

  @Override
  public List<HostReport> latestPerHost() {
    return delegate.latestPerHost();
  }

  @Override
  public List<SeriesPoint> series(SeriesQuery query) throws StoreException {
    return delegate.series(query);
  }

  @Override
  public List<SeriesPoint> aggregate(AggregateQuery query) throws StoreException {
    return delegate.aggregate(query);
  }

  @Override
  public List<StoredPoint> history(
      String host, java.util.Set<String> measurements, java.time.Instant from, java.time.Instant to)
      throws StoreException {
    return delegate.history(host, measurements, from, to);
  }

  @Override
  public java.util.Map<String, List<StoredPoint>> histories(
      java.util.Collection<String> hosts,
      java.util.Set<String> measurements,
      java.time.Instant from,
      java.time.Instant to)
      throws StoreException {
    return delegate.histories(hosts, measurements, from, to);
  }

  @Override
  public Optional<java.time.Duration> reportInterval(String host) {
    return delegate.reportInterval(host);
  }

  @Override
  public double writeBacklog() {
    return delegate.writeBacklog();
  }

  @Override
  public java.util.OptionalLong writeBufferPoints() {
    return delegate.writeBufferPoints();
  }

  @Override
  public StoreHealth check() {
    return delegate.check();
  }

  @Override
  public void close() {
    delegate.close();
  }
}

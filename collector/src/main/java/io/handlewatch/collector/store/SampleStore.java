package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Where reports go once validated: the one contract every backend (InfluxDB, the embedded memory
 * store) implements, and that {@code SampleStoreContract} tests against each of them.
 *
 * <p>Delivery rests on {@link #write}: ingest acknowledges a report to its agent only after the
 * returned future completes normally, so a store completes it only once every point of the report
 * is durably stored (or deliberately dropped and counted, see {@link WriteOutcome}).
 */
public interface SampleStore extends AutoCloseable {

  /**
   * Stores one report's points. Implementations may batch reports from many streams into one write;
   * the future completes when this report's points are stored, or exceptionally with a {@link
   * StoreException} saying whether a retry can help. Never blocks the caller on I/O.
   */
  CompletableFuture<WriteOutcome> write(HostReport report);

  /**
   * Stores points that do not come from a report, such as the detector's {@code verdict} points,
   * with the same guarantees as {@link #write}: the future completes once they are stored (or
   * dropped as malformed and counted), never blocking the caller on I/O. Each point names its host
   * in its {@code host} tag.
   */
  CompletableFuture<WriteOutcome> writePoints(List<StoredPoint> points);

  /**
   * The most recent stored report of a host, with the sysctls it last sent (reports carry sysctls
   * only when they change), or empty for a host this store has not seen.
   */
  Optional<HostReport> latest(String host);

  /** The latest report of every host this store knows, in host-name order. */
  List<HostReport> latestPerHost();

  /** The stored values of one field of one measurement for one host, oldest first. */
  List<SeriesPoint> series(SeriesQuery query) throws StoreException;

  /**
   * The series of {@link #series} summarised in steps ({@link AggregateQuery}): what history views
   * chart. The default summarises the raw points in memory, as a store that keeps them at hand (the
   * memory store) should; a database store lets the database do it.
   */
  default List<SeriesPoint> aggregate(AggregateQuery query) throws StoreException {
    return SeriesBuckets.aggregate(series(query.series()), query);
  }

  /**
   * Every point stored for {@code host} in {@code measurements} with a time in {@code [from, to]},
   * oldest first, with all its tags and fields. Numbers come back as {@link Double} whatever they
   * were written as (the stores differ in what they keep of the type). This is what a collector
   * reads when it gains a host, from another collector behind the same address or after its own
   * restart: {@link StoredReports} turns the points back into reports to rebuild the detection
   * window. The default cannot answer: a store that does not override it leaves such hosts to start
   * cold.
   */
  default List<StoredPoint> history(String host, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    throw new StoreException(
        StoreException.Kind.CONFIGURATION,
        getClass().getSimpleName() + " cannot read back a host's history");
  }

  /**
   * The {@link #history} of many hosts over one range, in as few reads as the store can: what a
   * collector reads when thousands of hosts are new to it at once (its own restart in front of a
   * fleet), where one read per host would not come back in time. Every host asked for has an entry,
   * empty when nothing is stored; each holds exactly what {@link #history} gives for that host. The
   * default reads the hosts one by one.
   */
  default java.util.Map<String, List<StoredPoint>> histories(
      java.util.Collection<String> hosts, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    java.util.Map<String, List<StoredPoint>> out = new java.util.LinkedHashMap<>();
    for (String host : hosts) out.put(host, history(host, measurements, from, to));
    return out;
  }

  /**
   * How often a host reports, as observed from its recent reports (the median gap between them, per
   * sequence number), or empty while too few are known. The API marks a host stale when it has been
   * silent for several of its own intervals.
   */
  default Optional<Duration> reportInterval(String host) {
    return Optional.empty();
  }

  /**
   * How far behind the store is on its writes, from 0 (nothing waiting) to 1 (its buffer is full
   * and writes are refused). While it is high, ingest asks agents for nothing more (flow control)
   * and reads that can wait, such as the detector's warm-up, hold back, so that nothing starves the
   * writes agents wait on. The default: never behind.
   */
  default double writeBacklog() {
    return 0;
  }

  /**
   * How many points the store's write buffer holds at most, if it has one: ingest sizes its
   * admission budget below it, so that reports in flight can never overfill it. Empty for a store
   * that writes synchronously (the memory store).
   */
  default java.util.OptionalLong writeBufferPoints() {
    return java.util.OptionalLong.empty();
  }

  /** A cheap check for the health endpoint: can the store take writes right now? */
  StoreHealth check();

  /** Flushes what is buffered and releases connections; pending writes complete or fail. */
  @Override
  void close();
}

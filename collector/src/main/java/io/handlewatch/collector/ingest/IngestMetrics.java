package io.handlewatch.collector.ingest;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.handlewatch.collector.RecordedTimer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What ingest counts, under {@code ingest.*} in the admin port's /metrics: reports and points per
 * second, bytes, rejected reports by reason, store latency, unacknowledged reports and connected
 * agents.
 *
 * <p>A report's time in the collector, decomposed (timers, per report): {@code
 * ingest.latency.receipt_to_write} (arrival to the write handed to the store: validation and
 * waiting for admission credit), {@code ingest.store.latency} (write handed to the store to the
 * store's ack), of which {@code ingest.latency.backend_write} is the backend's own (InfluxDB: the
 * POST of the batch that carried it), {@code ingest.latency.store_ack_to_ack} (store ack to the
 * agent's ack sent: waiting for earlier reports of the stream) and {@code
 * ingest.latency.collector_added} (arrival to ack sent, less the backend's own time). Of what the
 * collector adds, {@code ingest.latency.collector_added_less_writer_wait} leaves out the time a
 * report waited for a free store writer while every writer was busy with an earlier write
 * (InfluxDB: all {@code store.writeConcurrency} POSTs in flight): a wait a slow backend causes,
 * measured apart, not moved into the backend's time.
 */
public final class IngestMetrics {
  private final MetricRegistry registry;
  final Meter reports;
  final Meter points;
  final Meter bytes;
  final Meter rejected;
  final Timer storeLatency;
  final Timer receiptToWrite;
  final Timer backendWrite;
  final Timer storeAckToAck;
  final Timer collectorAdded;
  final Timer collectorAddedLessWriterWait;
  final Counter storeFailures;
  final Counter pointsDropped;
  final Counter streamsOpened;
  final Counter streamsEndedByStore;
  final Counter streamsDeferred;
  final Counter admissionWaits;
  final Counter undercounted;
  final AtomicInteger connected = new AtomicInteger();
  final AtomicLong unacked = new AtomicLong();

  public IngestMetrics(MetricRegistry registry) {
    this.registry = registry;
    reports = registry.meter("ingest.reports");
    points = registry.meter("ingest.points");
    bytes = registry.meter("ingest.bytes");
    rejected = registry.meter("ingest.rejected");
    storeLatency = RecordedTimer.of(registry, "ingest.store.latency");
    receiptToWrite = RecordedTimer.of(registry, "ingest.latency.receipt_to_write");
    backendWrite = RecordedTimer.of(registry, "ingest.latency.backend_write");
    storeAckToAck = RecordedTimer.of(registry, "ingest.latency.store_ack_to_ack");
    collectorAdded = RecordedTimer.of(registry, "ingest.latency.collector_added");
    collectorAddedLessWriterWait =
        RecordedTimer.of(registry, "ingest.latency.collector_added_less_writer_wait");
    storeFailures = registry.counter("ingest.store.failures");
    pointsDropped = registry.counter("ingest.points.dropped");
    streamsOpened = registry.counter("ingest.streams.opened");
    streamsEndedByStore = registry.counter("ingest.streams.ended.store");
    streamsDeferred = registry.counter("ingest.streams.deferred");
    admissionWaits = registry.counter("ingest.admission.waits");
    undercounted = registry.counter("ingest.admission.undercounted");
    registry.gauge("ingest.agents.connected", () -> connected::get);
    registry.gauge("ingest.unacked", () -> unacked::get);
  }

  void rejected(String reason) {
    rejected.mark();
    registry.counter("ingest.rejected." + reason).inc();
  }

  /** A call refused at its start for want of a valid credential. */
  void unauthenticated(String reason) {
    registry.counter("ingest.unauthenticated").inc();
    registry.counter("ingest.unauthenticated." + reason).inc();
  }

  /** Calls refused as unauthenticated so far, all reasons together. */
  public long unauthenticatedCount() {
    return registry.counter("ingest.unauthenticated").getCount();
  }

  /** Rejected reports so far for one reason. */
  public long rejectedCount(String reason) {
    return registry.counter("ingest.rejected." + reason).getCount();
  }

  public int connectedAgents() {
    return connected.get();
  }

  public long unackedReports() {
    return unacked.get();
  }

  public long reportsStored() {
    return reports.getCount();
  }

  /** Registers {@code ingest.connections.open}: connections the ingest port holds now. */
  void connectionsOpen(java.util.function.IntSupplier open) {
    registry.gauge("ingest.connections.open", () -> open::getAsInt);
  }

  /** A connection closed at accept: {@code cap} is {@code total} or {@code per_peer}. */
  void connectionRefused(String cap) {
    registry.counter("ingest.connections.refused").inc();
    registry.counter("ingest.connections.refused." + cap).inc();
  }

  public long connectionsRefused(String cap) {
    return registry.counter("ingest.connections.refused." + cap).getCount();
  }

  private static final java.util.Set<String> TLS_REASONS =
      java.util.Set.of(
          "certificate expired",
          "certificate not yet valid",
          "handshake timed out",
          "certificate not made for a client (key usage)",
          "certificate not signed by ingest.tls.clientCaFile",
          "not TLS",
          "no client certificate");

  private volatile String lastTlsRefusal;

  /** A TLS handshake the collector refused, by reason (a bounded set of metric names). */
  void tlsRefused(String peer, String reason) {
    registry.counter("ingest.tls.refused").inc();
    String slug =
        TLS_REASONS.contains(reason)
            ? reason.replaceAll("\\(.*\\)", "").strip().replaceAll("[^A-Za-z0-9]+", "_")
            : "other";
    registry.counter("ingest.tls.refused." + slug.toLowerCase(java.util.Locale.ROOT)).inc();
    lastTlsRefusal = java.time.Instant.now() + " " + peer + " " + reason;
  }

  /** TLS handshakes refused so far, all reasons together. */
  public long tlsRefusedCount() {
    return registry.counter("ingest.tls.refused").getCount();
  }

  /** When, whose and why the last TLS handshake was refused; null if none was. */
  public String lastTlsRefusal() {
    return lastTlsRefusal;
  }

  /**
   * Registers the admission budget's gauges: {@code ingest.streams.held} (streams whose next report
   * waits for credit, held back by flow control), {@code ingest.streams.held.first} (of them, the
   * streams whose first report waits, served ahead of the others), {@code
   * ingest.admission.points.inflight} and {@code ingest.admission.points.capacity}.
   */
  void admission(AdmissionBudget budget) {
    registry.gauge("ingest.streams.held", () -> budget::waiting);
    registry.gauge("ingest.streams.held.first", () -> budget::newcomersWaiting);
    registry.gauge("ingest.admission.points.inflight", () -> budget::inUse);
    registry.gauge("ingest.admission.points.capacity", () -> budget::capacity);
  }

  /** Streams refused at their start while too many first reports waited, told when to return. */
  public long streamsDeferred() {
    return streamsDeferred.getCount();
  }

  /** Streams ended because the store failed (a full buffer included), their agents replaying. */
  public long streamsEndedByStore() {
    return streamsEndedByStore.getCount();
  }

  private final java.util.concurrent.atomic.AtomicBoolean undercountLogged =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * The store made more points of a report than admission charged for it: {@code
   * ReportPoints.maxPoints} misses a measurement, and the buffer's bound is no longer exact.
   */
  void undercounted(
      io.handlewatch.proto.v1.HostReport report,
      int charged,
      io.handlewatch.collector.store.WriteOutcome outcome) {
    undercounted.inc();
    if (undercountLogged.compareAndSet(false, true)) {
      org.slf4j.LoggerFactory.getLogger(IngestMetrics.class)
          .error(
              "admission charged report seq={} of host {} {} points but the store made {}:"
                  + " ReportPoints.maxPoints misses a measurement (counted in"
                  + " ingest.admission.undercounted; logged once)",
              report.getSeq(),
              io.handlewatch.collector.store.ReportPoints.hostOf(report),
              charged,
              outcome.pointsWritten() + outcome.pointsDropped());
    }
  }
}

package io.handlewatch.collector.ingest;

import com.codahale.metrics.Timer;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ReportAck;
import io.handlewatch.proto.v1.ReportRejection;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's stream: validate → store → acknowledge, in order.
 *
 * <p>Flow control is manual: the stream asks gRPC for {@code maxInFlight} reports and for one more
 * each time one is settled, so a slow store slows its agents down through HTTP/2 flow control
 * instead of piling reports up in the collector's heap. Acks are cumulative, so a report is acked
 * only once it and every report before it on this stream is settled; a store that fails ends the
 * stream with UNAVAILABLE, and the agent replays everything not yet acked. While the store is
 * behind on its writes, the stream asks for nothing more ({@link StoreGate}) until it has caught
 * up.
 */
final class ReportStream implements StreamObserver<HostReport> {
  private static final Logger log = LoggerFactory.getLogger(ReportStream.class);

  /** A report received and not yet acknowledged. */
  private static final class Pending {
    final long seq;
    boolean settled;
    ReportRejection rejection;

    Pending(long seq) {
      this.seq = seq;
    }
  }

  private final ServerCallStreamObserver<ReportAck> acks;
  private final SampleStore store;
  private final ReportValidator validator;
  private final IngestMetrics metrics;
  private final String peer;
  private final AgentIdentity identity;
  private final AgentQuotas quotas;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private String host;
  private long lastSeq;
  private long lastAcked;

  /** The seq of the stream's first report; 0 until it arrives. */
  private long firstSeq;

  private long stored;
  private long rejectedCount;
  private boolean closed;
  private boolean completing;

  /** Reports this stream may ask for once the store has caught up ({@link StoreGate}). */
  private int owed;

  private boolean held;
  private final StoreGate gate;
  private final ClockOffsets clocks;

  ReportStream(
      ServerCallStreamObserver<ReportAck> acks,
      SampleStore store,
      ReportValidator validator,
      IngestMetrics metrics,
      String peer,
      int maxInFlight,
      AgentIdentity identity,
      AgentQuotas quotas,
      StoreGate gate,
      ClockOffsets clocks) {
    this.clocks = clocks;
    this.acks = acks;
    this.gate = gate;
    this.identity = identity;
    this.quotas = quotas;
    this.store = store;
    this.validator = validator;
    this.metrics = metrics;
    this.peer = peer;
    acks.disableAutoRequest();
    var closedWith = StreamEnd.ofCurrentCall();
    acks.setOnCancelHandler(() -> end(cancelReason(closedWith.get())));
    metrics.streamsOpened.inc();
    synchronized (this) {
      requestMore(maxInFlight);
    }
  }

  /**
   * Asks gRPC for {@code n} more reports, or, while the store is behind on its writes, owes them
   * until it has caught up: the agent is held back by flow control, not failed. Caller holds the
   * lock.
   */
  private void requestMore(int n) {
    if (!held && gate.isOpen()) {
      acks.request(n);
      return;
    }
    owed += n;
    if (!held) {
      held = true;
      gate.park(this::resume);
    }
  }

  private synchronized void resume() {
    held = false;
    int n = owed;
    owed = 0;
    if (closed || completing || n == 0) return;
    requestMore(n);
  }

  @Override
  public void onNext(HostReport report) {
    metrics.bytes.mark(report.getSerializedSize());
    Pending p;
    synchronized (this) {
      if (closed) return;
      if (!quotas.rate().tryTake(agentKey(report))) {
        endOverRate(report);
        return;
      }
      p = new Pending(report.getSeq());
      pending.addLast(p);
      metrics.unacked.incrementAndGet();
    }
    Optional<Violation> violation = validate(report);
    if (violation.isPresent()) {
      reject(p, report, violation.get());
      return;
    }
    // Onto the collector's timeline: the host's clock offset measured and the sample time moved.
    ClockOffsets.Placed placed = clocks.place(report);
    if (placed.refused()) {
      reject(p, report, Violation.invalid(placed.refusedField(), "clock", placed.refusal()));
      return;
    }
    HostReport onTimeline = placed.report();
    Timer.Context timing = metrics.storeLatency.time();
    store
        .write(onTimeline)
        .whenComplete(
            (outcome, failure) -> {
              timing.stop();
              if (failure != null) {
                storeFailed(report, failure);
              } else {
                stored(p, report, outcome);
              }
            });
  }

  private synchronized Optional<Violation> validate(HostReport report) {
    Optional<Violation> v = validator.check(report);
    if (v.isPresent()) return v;
    if (report.getSeq() <= lastSeq) {
      return Optional.of(
          Violation.invalid(
              "seq",
              "seq",
              "seq " + report.getSeq() + " does not follow " + lastSeq + " on this stream"));
    }
    String h = report.getSample().getHost().getHostname();
    if (identity != null && !identity.allows(h)) {
      return Optional.of(
          new Violation(
              Status.Code.PERMISSION_DENIED,
              "sample.host.hostname",
              "this stream's credential ("
                  + identity.credential()
                  + ") speaks for "
                  + String.join(", ", identity.hosts())
                  + ", not for "
                  + ReportValidator.printable(h, 64),
              "identity_mismatch"));
    }
    if (host == null) {
      host = h;
      metrics.connected.incrementAndGet();
      firstSeq = report.getSeq();
      log.info("agent connected: host={} peer={} first_seq={}", host, peer, report.getSeq());
    } else if (!host.equals(h)) {
      return Optional.of(
          new Violation(
              Status.Code.PERMISSION_DENIED,
              "sample.host.hostname",
              "this stream carries host "
                  + host
                  + "; a report for "
                  + ReportValidator.printable(h, 64)
                  + " needs its own stream",
              "host_mismatch"));
    }
    Optional<Violation> overCap = quotas.series().admit(h, report);
    if (overCap.isPresent()) return overCap;
    lastSeq = report.getSeq();
    return Optional.empty();
  }

  /** Per-agent limits are keyed by the credential's host when there is one, else the stream's. */
  private String agentKey(HostReport report) {
    if (identity != null) return identity.key();
    if (host != null) return host;
    String claimed = report.getSample().getHost().getHostname();
    return claimed.length() > 253 ? claimed.substring(0, 253) : claimed;
  }

  /**
   * Ends a stream that sends faster than its agent's rate limit. Refusing the report instead would
   * settle it, and the agent would forget it: an honest agent replaying a backlog would lose data.
   * Ending the stream keeps every unacknowledged report in the agent, which replays it after its
   * reconnect backoff, so an honest agent loses nothing and a flooding one pays the backoff. Caller
   * holds the lock.
   */
  private void endOverRate(HostReport report) {
    metrics.rejected("rate_limit");
    rejectedCount++;
    log.warn(
        "agent over its rate limit, ending its stream: host={} peer={} seq={} acked_up_to={}",
        host,
        peer,
        report.getSeq(),
        lastAcked);
    finish();
    acks.onError(
        Status.RESOURCE_EXHAUSTED
            .withDescription(
                "over the rate limit (ingest.limits.maxReportsPerSecond, reportBurst);"
                    + " replay from seq "
                    + replayFrom()
                    + " after a pause")
            .asRuntimeException());
  }

  private void reject(Pending p, HostReport report, Violation v) {
    metrics.rejected(v.reason());
    synchronized (this) {
      rejectedCount++;
      p.rejection =
          ReportRejection.newBuilder()
              .setSeq(report.getSeq())
              .setCode(v.code().value())
              .setField(v.field())
              .setMessage(v.message())
              .build();
      if (rejectedCount <= 3 || Long.bitCount(rejectedCount) == 1) {
        log.warn(
            "report refused: host={} peer={} seq={} {} {}: {} (refused on this stream: {})",
            host == null
                ? ReportValidator.printable(report.getSample().getHost().getHostname(), 64)
                : host,
            peer,
            report.getSeq(),
            v.code(),
            v.field(),
            v.message(),
            rejectedCount);
      }
    }
    settle(p);
  }

  private void stored(Pending p, HostReport report, WriteOutcome outcome) {
    metrics.reports.mark();
    metrics.points.mark(outcome.pointsWritten());
    if (outcome.pointsDropped() > 0) metrics.pointsDropped.inc(outcome.pointsDropped());
    synchronized (this) {
      stored++;
    }
    settle(p);
  }

  /** Marks a report settled and sends acks for the settled prefix of the stream. */
  private synchronized void settle(Pending p) {
    p.settled = true;
    if (closed) return;
    int released = 0;
    boolean ackDue = false;
    while (!pending.isEmpty() && pending.peekFirst().settled) {
      Pending head = pending.pollFirst();
      released++;
      lastAcked = Math.max(lastAcked, head.seq);
      if (head.rejection != null) {
        acks.onNext(
            ReportAck.newBuilder().setAckedSeq(lastAcked).setRejected(head.rejection).build());
        ackDue = false;
      } else {
        ackDue = true; // one cumulative ack for a run of stored reports
      }
    }
    // The credit goes back before the ack goes out: whatever the agent does on the ack (and
    // whatever the store's backlog does meanwhile) finds the released window already asked for.
    if (released > 0) {
      metrics.unacked.addAndGet(-released);
      if (!completing) requestMore(released);
    }
    if (ackDue) acks.onNext(ReportAck.newBuilder().setAckedSeq(lastAcked).build());
    if (released > 0 && completing && pending.isEmpty()) complete();
  }

  /**
   * The first seq this stream has not acknowledged: what the agent must send again. Caller holds
   * the lock.
   */
  private long replayFrom() {
    return lastAcked >= firstSeq ? lastAcked + 1 : firstSeq;
  }

  private void storeFailed(HostReport report, Throwable failure) {
    Throwable cause =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    metrics.storeFailures.inc();
    String why =
        cause instanceof StoreException se ? se.kind() + ": " + se.getMessage() : cause.toString();
    synchronized (this) {
      if (closed) return;
      log.warn(
          "store failed, ending stream so the agent replays: host={} peer={} seq={} acked_up_to={} {}",
          host,
          peer,
          report.getSeq(),
          lastAcked,
          why);
      finish();
      acks.onError(
          Status.UNAVAILABLE
              .withDescription("store unavailable, replay from seq " + replayFrom() + ": " + why)
              .asRuntimeException());
    }
  }

  @Override
  public void onError(Throwable t) {
    end("stream error: " + Status.fromThrowable(t));
  }

  @Override
  public synchronized void onCompleted() {
    if (closed) return;
    // The agent is done sending; the reports still in the store get their acks before we close.
    completing = true;
    if (pending.isEmpty()) complete();
  }

  private void complete() {
    log.info(
        "agent disconnected: host={} peer={} reason=closed by the agent stored={} refused={}",
        host,
        peer,
        stored,
        rejectedCount);
    finish();
    acks.onCompleted();
  }

  /** Why a stream ended without its agent completing it, from the status gRPC closed it with. */
  private String cancelReason(io.grpc.Status s) {
    if (StreamEnd.isOversized(s)) {
      metrics.rejected("too_large");
      return "report larger than ingest.maxMessageSize (" + s.getDescription() + " bytes)";
    }
    if (s == null || s.isOk() || s.getCode() == io.grpc.Status.Code.CANCELLED) {
      return "cancelled by the agent";
    }
    return "stream failed: " + s.getCode() + " " + s.getDescription();
  }

  private void end(String reason) {
    synchronized (this) {
      if (closed) return;
      finish();
      log.info(
          "agent disconnected: host={} peer={} reason={} stored={} refused={} unsettled={}",
          // Before its first report, the host its credential names (if any).
          host != null || identity == null ? host : identity.key(),
          peer,
          reason,
          stored,
          rejectedCount,
          pending.size());
    }
  }

  /** Closes the stream's books once. Caller holds the lock. */
  private void finish() {
    closed = true;
    metrics.unacked.addAndGet(-pending.size());
    pending.clear();
    if (host != null) metrics.connected.decrementAndGet();
  }
}

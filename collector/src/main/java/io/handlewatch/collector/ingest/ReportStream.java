package io.handlewatch.collector.ingest;

import com.codahale.metrics.Timer;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ReportAck;
import io.handlewatch.proto.v1.ReportRejection;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's stream: validate → admit → store → acknowledge, in order.
 *
 * <p>Flow control is manual: the stream asks gRPC for at most {@code maxInFlight} reports between
 * arrival and acknowledgement. A valid report goes to the store only once it holds credit for its
 * points from the {@link AdmissionBudget} every stream shares; while it waits for credit, the
 * stream asks for nothing more, so a slow store slows its agents down through HTTP/2 flow control
 * instead of piling reports up in the collector's heap or overfilling the store's buffer. Acks are
 * cumulative, so a report is acked only once it and every report before it on this stream is
 * settled; a store that fails ends the stream with UNAVAILABLE, and the agent replays everything
 * not yet acked.
 */
final class ReportStream implements StreamObserver<HostReport> {
  private static final Logger log = LoggerFactory.getLogger(ReportStream.class);

  /** A report received and not yet acknowledged. */
  private static final class Pending {
    final long seq;
    final long receivedNanos = System.nanoTime();
    boolean settled;

    /** When the store acknowledged it (0: refused, never stored), and its backend's own time. */
    long storedNanos;

    long backendNanos;

    /** How long it waited for a free store writer, every writer busy (0 for the memory store). */
    long writerWaitNanos;

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

  /**
   * A valid report waiting for admission credit. Only the head of {@link #queued} asks the budget
   * ({@code asked}); the others wait behind it so that the store sees the stream's reports in
   * order.
   */
  private final class Admit implements Runnable {
    final Pending p;
    final HostReport report;
    final int points;
    boolean asked;

    Admit(Pending p, HostReport report, int points) {
      this.p = p;
      this.report = report;
      this.points = points;
    }

    @Override
    public void run() {
      granted(this);
    }
  }

  private final AdmissionBudget budget;
  private final ClockOffsets clocks;
  private final int maxInFlight;
  private final ArrayDeque<Admit> queued = new ArrayDeque<>();

  /** Whether a report of this stream has asked the budget yet: the first goes ahead of others'. */
  private boolean askedBefore;

  /** Reports asked of gRPC and not yet arrived. */
  private int requested;

  /** The head of {@link #queued} when the stream ended, to be taken off the budget's queue. */
  private Admit orphan;

  ReportStream(
      ServerCallStreamObserver<ReportAck> acks,
      SampleStore store,
      ReportValidator validator,
      IngestMetrics metrics,
      String peer,
      int maxInFlight,
      AgentIdentity identity,
      AgentQuotas quotas,
      AdmissionBudget budget,
      ClockOffsets clocks) {
    this.clocks = clocks;
    this.acks = acks;
    this.budget = budget;
    this.maxInFlight = maxInFlight;
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
      topUp();
    }
  }

  /**
   * Asks gRPC for reports up to {@code maxInFlight} between arrival and ack, unless reports wait
   * for admission credit: then the agent is held back by flow control, not failed. Caller holds the
   * lock.
   */
  private void topUp() {
    if (closed || completing || !queued.isEmpty()) return;
    int n = maxInFlight - requested - pending.size();
    if (n <= 0) return;
    requested += n;
    acks.request(n);
  }

  @Override
  public void onNext(HostReport report) {
    metrics.bytes.mark(report.getSerializedSize());
    Pending p;
    synchronized (this) {
      requested = Math.max(0, requested - 1);
      if (closed) return;
      if (!quotas.rate().tryTake(agentKey(report))) {
        endOverRate(report);
      }
      if (closed) {
        p = null;
      } else {
        p = new Pending(report.getSeq());
        pending.addLast(p);
        metrics.unacked.incrementAndGet();
      }
    }
    if (p == null) {
      cancelOrphan();
      return;
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
    admit(new Admit(p, onTimeline, ReportPoints.maxPoints(onTimeline)));
  }

  /** Sends a valid report to the store once it has credit, behind the reports queued before it. */
  private void admit(Admit a) {
    boolean first;
    synchronized (this) {
      if (closed) return;
      queued.addLast(a);
      if (queued.size() > 1) return;
      a.asked = true;
      first = !askedBefore;
      askedBefore = true;
    }
    if (budget.take(a.points, first, a)) {
      granted(a);
    } else {
      metrics.admissionWaits.inc();
    }
  }

  /**
   * The head of {@link #queued} has its credit: write it, then ask for the next one's. Never called
   * with this stream's lock held (the budget runs grants outside every stream's lock).
   */
  private void granted(Admit a) {
    for (Admit current = a; ; ) {
      boolean gone;
      synchronized (this) {
        gone = closed;
      }
      if (gone) {
        budget.give(current.points);
        return;
      }
      write(current);
      Admit next;
      synchronized (this) {
        queued.pollFirst();
        next = queued.peekFirst();
        if (next == null || closed) {
          topUp();
          return;
        }
        next.asked = true;
      }
      if (!budget.take(next.points, next)) {
        metrics.admissionWaits.inc();
        return;
      }
      current = next;
    }
  }

  private void write(Admit a) {
    HostReport report = a.report;
    metrics.receiptToWrite.update(System.nanoTime() - a.p.receivedNanos, TimeUnit.NANOSECONDS);
    Timer.Context timing = metrics.storeLatency.time();
    store
        .write(report)
        .whenComplete(
            (outcome, failure) -> {
              timing.stop();
              budget.give(a.points);
              if (failure != null) {
                storeFailed(report, failure);
              } else {
                if (outcome.pointsWritten() + outcome.pointsDropped() > a.points) {
                  metrics.undercounted(report, a.points, outcome);
                }
                stored(a.p, report, outcome);
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
      var id = report.getSample().getHost();
      log.info(
          "agent connected: host={} peer={} first_seq={} agent_version={} agent_commit={}",
          host,
          peer,
          report.getSeq(),
          id.hasAgentVersion() ? id.getAgentVersion() : "unknown",
          id.hasAgentCommit() ? id.getAgentCommit() : "unknown");
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
    if (outcome.backendNanos() > 0) {
      metrics.backendWrite.update(outcome.backendNanos(), TimeUnit.NANOSECONDS);
    }
    synchronized (this) {
      stored++;
      p.storedNanos = System.nanoTime();
      p.backendNanos = outcome.backendNanos();
      p.writerWaitNanos = outcome.writerWaitNanos();
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
      justAcked.add(head);
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
      topUp();
    }
    if (ackDue) acks.onNext(ReportAck.newBuilder().setAckedSeq(lastAcked).build());
    if (!justAcked.isEmpty()) timeAcked();
    if (released > 0 && completing && pending.isEmpty()) complete();
  }

  /**
   * Times the reports just acknowledged: store ack to ack sent, what the collector added in all
   * (receipt to ack sent, less the backend's own write time), and that less the wait for a free
   * store writer. Caller holds the lock.
   */
  private void timeAcked() {
    long now = System.nanoTime();
    for (Pending done : justAcked) {
      if (done.storedNanos == 0) continue;
      metrics.storeAckToAck.update(now - done.storedNanos, TimeUnit.NANOSECONDS);
      long added = Math.max(0, now - done.receivedNanos - done.backendNanos);
      metrics.collectorAdded.update(added, TimeUnit.NANOSECONDS);
      metrics.collectorAddedLessWriterWait.update(
          Math.max(0, added - done.writerWaitNanos), TimeUnit.NANOSECONDS);
    }
    justAcked.clear();
  }

  /** The reports {@link #settle} released, until {@link #timeAcked} has timed them. */
  private final java.util.ArrayList<Pending> justAcked = new java.util.ArrayList<>();

  /**
   * The first seq this stream has not acknowledged: what the agent must send again. Caller holds
   * the lock.
   */
  private long replayFrom() {
    return lastAcked >= firstSeq ? lastAcked + 1 : firstSeq;
  }

  /**
   * Takes the ended stream's waiting report off the budget's queue. Caller must not hold the lock.
   */
  private void cancelOrphan() {
    Admit a;
    synchronized (this) {
      a = orphan;
      orphan = null;
    }
    if (a != null) budget.cancel(a);
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
      metrics.streamsEndedByStore.inc();
      acks.onError(
          Status.UNAVAILABLE
              .withDescription("store unavailable, replay from seq " + replayFrom() + ": " + why)
              .asRuntimeException());
    }
    cancelOrphan();
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
      int unsettled = pending.size();
      finish();
      log.info(
          "agent disconnected: host={} peer={} reason={} stored={} refused={} unsettled={}",
          // Before its first report, the host its credential names (if any).
          host != null || identity == null ? host : identity.key(),
          peer,
          reason,
          stored,
          rejectedCount,
          unsettled);
    }
    cancelOrphan();
  }

  /** Closes the stream's books once. Caller holds the lock. */
  private void finish() {
    closed = true;
    Admit head = queued.peekFirst();
    if (head != null && head.asked) orphan = head;
    queued.clear();
    metrics.unacked.addAndGet(-pending.size());
    pending.clear();
    if (host != null) metrics.connected.decrementAndGet();
  }
}

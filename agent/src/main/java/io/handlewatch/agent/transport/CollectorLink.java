package io.handlewatch.agent.transport;

import dev.failsafe.AsyncExecution;
import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.handlewatch.agent.spool.ReportQueue;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The agent's one long-lived Report stream to its collector. It sends queued reports in seq order
 * as fast as gRPC flow control allows (never while the stream is not ready), forgets them when
 * acknowledged, and when the stream ends reconnects with exponential backoff and jitter, then
 * replays every report still queued, with its original seq.
 *
 * <p>A stream counts as healthy once it has stayed up for {@code healthyAfter}; only then does the
 * backoff start over, so a collector that accepts and then drops every stream is not hammered.
 *
 * <p>A busy collector (one whose store is behind while a fleet reconnects) refuses a new stream
 * with UNAVAILABLE and a {@code handlewatch-retry-after-ms} trailer: the agent then waits that
 * long, plus up to a fifth more at random, instead of its own backoff, and keeps every report
 * queued.
 */
public final class CollectorLink implements AutoCloseable {
  private static final System.Logger log = System.getLogger(CollectorLink.class.getName());

  /** Reconnect delays: from 0.5 s doubling to 30 s, each ±20 %. */
  public static RetryPolicy<Void> defaultBackoff() {
    return RetryPolicy.<Void>builder()
        .handle(Throwable.class)
        .withBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 2.0)
        .withJitter(0.2)
        .withMaxRetries(-1)
        .build();
  }

  /** Trailer of a stream the collector deferred: milliseconds to wait before the next one. */
  static final Metadata.Key<String> RETRY_AFTER =
      Metadata.Key.of("handlewatch-retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);

  private final String target;
  private final ManagedChannel channel;
  private final ReportQueue queue;
  private final SysctlCadence cadence;
  private final RetryPolicy<Void> backoff;
  private final ScheduledExecutorService scheduler;
  private final Duration healthyAfter;
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong streams = new AtomicLong();
  private final AtomicLong deferrals = new AtomicLong();
  private final SendStamp stamp;

  // Stream state, guarded by this.
  private ClientCallStreamObserver<HostReport> call;
  private AsyncExecution<Void> attempt;
  private int stream;
  private boolean connected;
  private long sentUpTo;
  private long ackedUpTo;
  private boolean closed;

  public CollectorLink(
      String target,
      ManagedChannel channel,
      ReportQueue queue,
      SysctlCadence cadence,
      RetryPolicy<Void> backoff,
      ScheduledExecutorService scheduler,
      Duration healthyAfter) {
    this(target, channel, queue, cadence, backoff, scheduler, healthyAfter, SendStamp.system(null));
  }

  /**
   * @param stamp stamps each report with its sending time and its sample's age as it is sent
   */
  public CollectorLink(
      String target,
      ManagedChannel channel,
      ReportQueue queue,
      SysctlCadence cadence,
      RetryPolicy<Void> backoff,
      ScheduledExecutorService scheduler,
      Duration healthyAfter,
      SendStamp stamp) {
    this.stamp = stamp;
    this.target = target;
    this.channel = channel;
    this.queue = queue;
    this.cadence = cadence;
    this.backoff = backoff;
    this.scheduler = scheduler;
    this.healthyAfter = healthyAfter;
  }

  /** Opens the first stream; reconnects happen by themselves until {@link #close()}. */
  public void start() {
    connect();
  }

  private void connect() {
    Failsafe.with(backoff).with(scheduler).runAsyncExecution(this::open);
  }

  private synchronized void open(AsyncExecution<Void> execution) {
    if (closed) {
      execution.recordResult(null);
      return;
    }
    attempt = execution;
    int mine = ++stream;
    streams.incrementAndGet();
    connected = false;
    sentUpTo = ackedUpTo;
    cadence.streamStarted();
    IngestGrpc.newStub(channel)
        .report(
            new ClientResponseObserver<HostReport, ReportAck>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<HostReport> c) {
                synchronized (CollectorLink.this) {
                  call = c;
                }
                c.setOnReadyHandler(() -> ready(mine));
              }

              @Override
              public void onNext(ReportAck ack) {
                acked(ack);
              }

              @Override
              public void onError(Throwable t) {
                ended(mine, Status.fromThrowable(t), retryAfter(t));
              }

              @Override
              public void onCompleted() {
                ended(mine, Status.OK.withDescription("closed by the collector"), 0);
              }
            });
    scheduler.schedule(() -> healthy(mine), healthyAfter.toMillis(), TimeUnit.MILLISECONDS);
  }

  private synchronized void ready(int which) {
    if (which != stream || call == null) return;
    if (!connected) {
      connected = true;
      int waiting = queue.size();
      log.log(
          Level.INFO,
          "connected to {0}; {1}",
          target,
          waiting == 0
              ? "nothing waiting to be sent"
              : waiting
                  + " reports to send from seq "
                  + queue.next(ackedUpTo).map(r -> Long.toString(r.getSeq())).orElse("?"));
    }
    pump();
  }

  /** A new report was queued: send it if the stream can take it. */
  public synchronized void wake() {
    if (call != null && connected) pump();
  }

  private void pump() {
    while (call != null && call.isReady()) {
      Optional<HostReport> next = queue.next(sentUpTo);
      if (next.isEmpty()) return;
      call.onNext(stamp.stamp(cadence.forSending(next.get())));
      sentUpTo = next.get().getSeq();
    }
  }

  private void acked(ReportAck ack) {
    queue.ackUpTo(ack.getAckedSeq());
    synchronized (this) {
      ackedUpTo = Math.max(ackedUpTo, ack.getAckedSeq());
      lastAckAtMillis = System.currentTimeMillis();
    }
    if (ack.hasRejected()) {
      var r = ack.getRejected();
      long n = rejected.incrementAndGet();
      log.log(
          Level.WARNING,
          "collector refused report seq {0}: {1} {2}: {3} (refused so far: {4})",
          Long.toString(r.getSeq()),
          Status.fromCodeValue(r.getCode()).getCode(),
          r.getField(),
          r.getMessage(),
          n);
    }
  }

  /** The wait a deferring collector asked for, in ms; 0 if none (or not a number). */
  static long retryAfter(Throwable t) {
    Metadata trailers = Status.trailersFromThrowable(t);
    String v = trailers == null ? null : trailers.get(RETRY_AFTER);
    if (v == null) return 0;
    try {
      return Math.clamp(Long.parseLong(v.strip()), 0, 600_000);
    } catch (NumberFormatException e) {
      log.log(Level.WARNING, "collector sent a retry delay that is not a number: {0}", v);
      return 0;
    }
  }

  private void ended(int which, Status status, long retryAfterMs) {
    AsyncExecution<Void> failed;
    synchronized (this) {
      if (which != stream) return;
      call = null;
      failed = attempt;
      attempt = null;
      if (closed) return;
      if (retryAfterMs > 0) {
        deferrals.incrementAndGet();
        long wait = retryAfterMs + ThreadLocalRandom.current().nextLong(retryAfterMs / 5 + 1);
        log.log(
            Level.INFO,
            "collector {0} busy, reconnecting in {1} ms as it asked; {2} reports queued",
            target,
            wait,
            queue.size());
        // The collector said when: its delay replaces the backoff, which starts over after it.
        scheduler.schedule(this::connect, wait, TimeUnit.MILLISECONDS);
      } else {
        log.log(
            Level.WARNING,
            "disconnected from {0}: {1}{2}; {3} reports unacknowledged",
            target,
            status.getCode(),
            status.getDescription() == null ? "" : " " + status.getDescription(),
            queue.size());
      }
    }
    if (retryAfterMs > 0) {
      if (failed != null) failed.recordResult(null);
    } else if (failed != null) {
      // Still within an attempt: let the backoff schedule the next one.
      failed.recordException(status.asException());
    } else {
      // The stream had been healthy: start afresh, after a short random pause so that a fleet
      // whose collector restarted does not reconnect in one burst.
      long pause = ThreadLocalRandom.current().nextLong(500);
      scheduler.schedule(this::connect, pause, TimeUnit.MILLISECONDS);
    }
  }

  private void healthy(int which) {
    AsyncExecution<Void> done;
    synchronized (this) {
      if (which != stream || call == null || !connected || attempt == null) return;
      done = attempt;
      attempt = null;
    }
    done.recordResult(null);
  }

  /** Reports the collector refused since start. */
  public long rejected() {
    return rejected.get();
  }

  /** Streams the collector deferred with a retry delay since start. */
  public long deferrals() {
    return deferrals.get();
  }

  /** Streams opened since start (1 plus reconnects). */
  public long streamsOpened() {
    return streams.get();
  }

  public synchronized boolean isConnected() {
    return call != null && connected;
  }

  public synchronized long ackedUpTo() {
    return ackedUpTo;
  }

  /** When the collector last acknowledged anything, epoch milliseconds; 0 if it never has. */
  public synchronized long lastAckAtMillis() {
    return lastAckAtMillis;
  }

  private long lastAckAtMillis;

  /** Ends the stream cleanly (half-close) and stops reconnecting. */
  @Override
  public void close() {
    ClientCallStreamObserver<HostReport> c;
    AsyncExecution<Void> a;
    synchronized (this) {
      closed = true;
      c = call;
      a = attempt;
      attempt = null;
    }
    if (c != null) {
      try {
        c.onCompleted();
      } catch (IllegalStateException alreadyClosed) {
        log.log(Level.DEBUG, "stream already closed: {0}", alreadyClosed.getMessage());
      }
    }
    if (a != null) a.recordResult(null);
  }
}

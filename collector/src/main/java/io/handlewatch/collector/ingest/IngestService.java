package io.handlewatch.collector.ingest;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.time.Duration;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC Ingest service: each agent stream gets its own {@link ReportStream}, and all of them
 * share one {@link AdmissionBudget}. While more first reports of new streams wait for credit than
 * the store settles in a second, a stream that opens is refused at once with UNAVAILABLE and a
 * {@value #RETRY_AFTER_KEY} trailer saying when to come back, so that agents reconnecting in a
 * storm are admitted at the rate the store settles reports, ahead of the reports of the streams
 * already in (which only ever wait, never end).
 */
public final class IngestService extends IngestGrpc.IngestImplBase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IngestService.class);

  /** The default of {@code ingest.backpressureAt}. */
  public static final double DEFAULT_BACKPRESSURE_AT = 0.5;

  /** Admission budget with a store that has no write buffer (the memory store), in points. */
  public static final long DEFAULT_UNBUFFERED_BUDGET = 1_000_000;

  /** Trailer of a deferred stream: milliseconds the agent should wait before it opens another. */
  public static final String RETRY_AFTER_KEY = "handlewatch-retry-after-ms";

  public static final Metadata.Key<String> RETRY_AFTER =
      Metadata.Key.of(RETRY_AFTER_KEY, Metadata.ASCII_STRING_MARSHALLER);

  private static final Duration MIN_RETRY = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofSeconds(60);

  private final SampleStore store;
  private final ReportValidator validator;
  private final IngestMetrics metrics;
  private final int maxInFlightPerStream;
  private final AgentQuotas quotas;
  private final AdmissionBudget budget;
  private final ClockOffsets clocks;

  public IngestService(
      SampleStore store,
      ReportValidator validator,
      IngestMetrics metrics,
      int maxInFlightPerStream) {
    this(
        store,
        validator,
        metrics,
        maxInFlightPerStream,
        AgentQuotas.of(new ReportLimits()),
        budgetFor(store, DEFAULT_BACKPRESSURE_AT, 0),
        clockOffsets(new ReportLimits()));
  }

  /** The clock stage with the limits of {@code ingest.limits}, on the system clock. */
  public static ClockOffsets clockOffsets(ReportLimits limits) {
    return new ClockOffsets(
        java.time.Clock.systemUTC(),
        java.time.Duration.ofMillis(limits.maxClockOffset.toMilliseconds()),
        java.time.Duration.ofMillis(limits.maxAge.toMilliseconds()));
  }

  /**
   * The admission budget in points: {@code configured} if set, else {@code share} of the store's
   * write buffer, else {@link #DEFAULT_UNBUFFERED_BUDGET} for a store without one.
   */
  static long budgetFor(SampleStore store, double share, long configured) {
    OptionalLong buffer = store.writeBufferPoints();
    if (configured > 0) {
      if (buffer.isPresent() && configured > buffer.getAsLong()) {
        throw new IllegalArgumentException(
            "ingest.maxInFlightPoints ("
                + configured
                + ") is larger than the store's write buffer (store.maxBufferedPoints="
                + buffer.getAsLong()
                + "): ingest could overfill it");
      }
      return configured;
    }
    if (buffer.isEmpty()) return DEFAULT_UNBUFFERED_BUDGET;
    return Math.max(1, (long) Math.floor(buffer.getAsLong() * share));
  }

  IngestService(
      SampleStore store,
      ReportValidator validator,
      IngestMetrics metrics,
      int maxInFlightPerStream,
      AgentQuotas quotas,
      long budgetPoints,
      ClockOffsets clocks) {
    this.clocks = clocks;
    this.store = store;
    this.validator = validator;
    this.metrics = metrics;
    this.maxInFlightPerStream = maxInFlightPerStream;
    this.quotas = quotas;
    this.budget = new AdmissionBudget(budgetPoints, System::nanoTime);
    metrics.admission(budget);
  }

  @Override
  public void close() {
    // Nothing runs on its own: the budget lives and dies with its streams.
  }

  /** Points the admission budget holds, shared by every stream. */
  long budgetPoints() {
    return budget.capacity();
  }

  @Override
  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
    var call = (ServerCallStreamObserver<ReportAck>) acks;
    if (!budget.admitsNewStream()) return defer(call);
    return new ReportStream(
        call,
        store,
        validator,
        metrics,
        peer(),
        maxInFlightPerStream,
        AgentAuthenticator.IDENTITY.get(),
        quotas,
        budget,
        clocks);
  }

  /**
   * Refuses a stream that opens while too many first reports wait for credit: before it has sent
   * anything, so the agent keeps every report in its spool and comes back after the delay in the
   * trailer.
   */
  private StreamObserver<HostReport> defer(ServerCallStreamObserver<ReportAck> call) {
    call.disableAutoRequest();
    Duration delay = budget.retryDelay(MIN_RETRY, MAX_RETRY);
    long n = metrics.streamsDeferred.getCount() + 1;
    metrics.streamsDeferred.inc();
    if (n <= 3 || Long.bitCount(n) == 1) {
      log.info(
          "collector busy, stream deferred: peer={} retry_after_ms={} waiting_first_reports={}"
              + " waiting_reports={} waiting_points={} inflight_points={} of {}"
              + " (deferred so far: {})",
          peer(),
          delay.toMillis(),
          budget.newcomersWaiting(),
          budget.waiting(),
          budget.waitingPoints(),
          budget.inUse(),
          budget.capacity(),
          n);
    }
    Metadata trailers = new Metadata();
    trailers.put(RETRY_AFTER, Long.toString(delay.toMillis()));
    call.onError(
        Status.UNAVAILABLE
            .withDescription(
                "collector busy: reports wait for the store; open a stream again in "
                    + delay.toMillis()
                    + " ms")
            .asRuntimeException(trailers));
    return new StreamObserver<>() {
      @Override
      public void onNext(HostReport value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  private static String peer() {
    var addr = PeerAddress.CURRENT.get();
    return addr == null ? "unknown" : addr;
  }

  /** The remote address of the call being served, set by {@link PeerAddress#interceptor()}. */
  static final class PeerAddress {
    static final io.grpc.Context.Key<String> CURRENT = io.grpc.Context.key("handlewatch-peer");

    static io.grpc.ServerInterceptor interceptor() {
      return new io.grpc.ServerInterceptor() {
        @Override
        public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
            io.grpc.ServerCall<Q, R> call,
            io.grpc.Metadata headers,
            io.grpc.ServerCallHandler<Q, R> next) {
          var remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
          var ctx =
              io.grpc.Context.current()
                  .withValue(CURRENT, remote == null ? null : remote.toString());
          return io.grpc.Contexts.interceptCall(ctx, call, headers, next);
        }
      };
    }
  }
}

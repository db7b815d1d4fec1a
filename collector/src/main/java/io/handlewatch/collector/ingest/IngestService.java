package io.handlewatch.collector.ingest;

import io.grpc.Grpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;

/** The gRPC Ingest service: each agent stream gets its own {@link ReportStream}. */
public final class IngestService extends IngestGrpc.IngestImplBase implements AutoCloseable {
  /** The default of {@code ingest.backpressureAt}. */
  public static final double DEFAULT_BACKPRESSURE_AT = 0.5;

  private final SampleStore store;
  private final ReportValidator validator;
  private final IngestMetrics metrics;
  private final int maxInFlightPerStream;
  private final AgentQuotas quotas;
  private final StoreGate gate;
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
        DEFAULT_BACKPRESSURE_AT,
        clockOffsets(new ReportLimits()));
  }

  IngestService(
      SampleStore store,
      ReportValidator validator,
      IngestMetrics metrics,
      int maxInFlightPerStream,
      AgentQuotas quotas,
      double backpressureAt,
      ClockOffsets clocks) {
    this.clocks = clocks;
    this.store = store;
    this.validator = validator;
    this.metrics = metrics;
    this.maxInFlightPerStream = maxInFlightPerStream;
    this.quotas = quotas;
    this.gate = new StoreGate(store::writeBacklog, backpressureAt, java.time.Duration.ofMillis(20));
    metrics.streamsHeld(gate::parked);
  }

  /** The clock stage with the limits of {@code ingest.limits}, on the system clock. */
  public static ClockOffsets clockOffsets(ReportLimits limits) {
    return new ClockOffsets(
        java.time.Clock.systemUTC(),
        java.time.Duration.ofMillis(limits.maxClockOffset.toMilliseconds()),
        java.time.Duration.ofMillis(limits.maxAge.toMilliseconds()));
  }

  @Override
  public void close() {
    gate.close();
  }

  @Override
  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
    var call = (ServerCallStreamObserver<ReportAck>) acks;
    return new ReportStream(
        call,
        store,
        validator,
        metrics,
        peer(),
        maxInFlightPerStream,
        AgentAuthenticator.IDENTITY.get(),
        quotas,
        gate,
        clocks);
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

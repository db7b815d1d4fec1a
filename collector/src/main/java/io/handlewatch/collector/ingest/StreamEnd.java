package io.handlewatch.collector.ingest;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Filter;
import java.util.logging.Logger;

/**
 * Why gRPC ended a stream. A stream gRPC itself fails (a message over {@code maxMessageSize}) only
 * reaches the service as a cancellation; this tracer keeps the status it closed with, so the
 * stream's one "agent disconnected" line can say what happened instead of "cancelled by the agent".
 */
final class StreamEnd extends ServerStreamTracer {
  private static final Context.Key<AtomicReference<Status>> STATUS =
      Context.key("handlewatch-stream-status");

  /**
   * grpc-netty logs the same refusal of an oversized message at WARNING with its stack trace
   * ("Exception processing message"); the stream's own line replaces it. Held here, since JUL keeps
   * only weak references to loggers.
   */
  private static final Logger DEFRAMER =
      Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

  static {
    Filter previous = DEFRAMER.getFilter();
    DEFRAMER.setFilter(
        r ->
            !(isOversized(Status.fromThrowable(r.getThrown()))
                    && "Exception processing message".equals(r.getMessage()))
                && (previous == null || previous.isLoggable(r)));
  }

  private final AtomicReference<Status> status = new AtomicReference<>();

  static ServerStreamTracer.Factory factory() {
    return new ServerStreamTracer.Factory() {
      @Override
      public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new StreamEnd();
      }
    };
  }

  @Override
  public Context filterContext(Context context) {
    return context.withValue(STATUS, status);
  }

  @Override
  public void streamClosed(Status s) {
    status.set(s);
  }

  /** The status the current call's stream closed with, as far as it has closed; else null. */
  static AtomicReference<Status> ofCurrentCall() {
    AtomicReference<Status> s = STATUS.get();
    return s == null ? new AtomicReference<>() : s;
  }

  /** gRPC's refusal of a message larger than the server's maxInboundMessageSize. */
  static boolean isOversized(Status s) {
    return s != null
        && s.getCode() == Status.Code.RESOURCE_EXHAUSTED
        && s.getDescription() != null
        && s.getDescription().contains("exceeds maximum size");
  }
}

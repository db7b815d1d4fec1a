package io.handlewatch.agent.testing;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal collector for agent ITs (the agent module cannot use the real one): a real gRPC Ingest
 * server on a free loopback port that records every report it reads, with the stream it came on,
 * and either acknowledges each one or holds every ack back, as a collector whose store is down
 * would.
 */
public final class IngestServer implements AutoCloseable {
  /** What the server does with a report it has read. */
  public enum Mode {
    /** Acknowledge it at once (cumulative ack of its seq). */
    ACK,
    /** Record it and acknowledge nothing. */
    HOLD
  }

  /** One report as read, and the number of the stream (from 1) it came on. */
  public record Received(int stream, HostReport report) {}

  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final List<ServerCallStreamObserver<ReportAck>> open = new CopyOnWriteArrayList<>();
  private final AtomicInteger streams = new AtomicInteger();
  private volatile Mode mode;
  private final Server server;

  private IngestServer(Mode mode) throws IOException {
    this.mode = mode;
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .addService(new Service())
            .build()
            .start();
  }

  public static IngestServer start(Mode mode) throws IOException {
    return new IngestServer(mode);
  }

  public int port() {
    return server.getPort();
  }

  public String target() {
    return "127.0.0.1:" + port();
  }

  public void mode(Mode m) {
    mode = m;
  }

  /** Everything read so far, in arrival order. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /** Streams opened so far. */
  public int streams() {
    return streams.get();
  }

  /** Ends every open stream with UNAVAILABLE, as a collector going away would. */
  public void endStreams() {
    for (ServerCallStreamObserver<ReportAck> s : open) {
      synchronized (s) {
        try {
          s.onError(Status.UNAVAILABLE.withDescription("test ends the stream").asException());
        } catch (IllegalStateException alreadyClosed) {
          // the agent went first
        }
      }
    }
    open.clear();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }

  private final class Service extends IngestGrpc.IngestImplBase {
    @Override
    public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
      var call = (ServerCallStreamObserver<ReportAck>) acks;
      int stream = streams.incrementAndGet();
      open.add(call);
      return new StreamObserver<>() {
        @Override
        public void onNext(HostReport r) {
          received.add(new Received(stream, r));
          if (mode == Mode.ACK) {
            synchronized (call) {
              if (!call.isCancelled()) {
                call.onNext(ReportAck.newBuilder().setAckedSeq(r.getSeq()).build());
              }
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          open.remove(call);
        }

        @Override
        public void onCompleted() {
          open.remove(call);
          synchronized (call) {
            call.onCompleted();
          }
        }
      };
    }
  }
}

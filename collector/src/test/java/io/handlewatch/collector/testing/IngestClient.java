package io.handlewatch.collector.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Streams reports to a collector's ingest port over real gRPC on loopback, as an agent does. */
public final class IngestClient {
  private IngestClient() {}

  /**
   * Sends {@code reports} (one host's, in seq order) on one stream and returns once the last is
   * acknowledged, or fails after 30 s without an ack.
   */
  public static void stream(int port, List<HostReport> reports) throws Exception {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      var acks = new LinkedBlockingQueue<ReportAck>();
      var failed = new LinkedBlockingQueue<Throwable>();
      StreamObserver<HostReport> out =
          IngestGrpc.newStub(ch)
              .report(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ReportAck a) {
                      acks.add(a);
                    }

                    @Override
                    public void onError(Throwable t) {
                      failed.add(t);
                    }

                    @Override
                    public void onCompleted() {}
                  });
      for (HostReport r : reports) out.onNext(r);
      long want = reports.getLast().getSeq();
      long got = 0;
      while (got < want) {
        ReportAck a = acks.poll(30, TimeUnit.SECONDS);
        if (!failed.isEmpty()) throw new AssertionError("stream failed", failed.peek());
        if (a == null) throw new AssertionError("no ack of seq " + want + " within 30 s");
        if (a.hasRejected()) throw new AssertionError("report refused: " + a.getRejected());
        got = a.getAckedSeq();
      }
      out.onCompleted();
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}

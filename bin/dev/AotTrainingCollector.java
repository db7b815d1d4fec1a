// The collector side of the agent's AOT training run (bin/dev/build-dist agent): a gRPC Ingest
// server on a free loopback port that acknowledges every report, so that the training agent walks
// the whole daemon path (connect, stream, send, ack, spool) and its classes go into the cache.
//
//   java -cp handlewatch-agent.jar bin/dev/AotTrainingCollector.java REPORTS
//
// Prints "PORT <port>" once listening, "DONE" after REPORTS reports were acknowledged, and exits
// when its standard input closes (or after 5 minutes, so that it never outlives a failed build).
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public class AotTrainingCollector {
  public static void main(String[] args) throws Exception {
    int wanted = Integer.parseInt(args[0]);
    AtomicInteger acked = new AtomicInteger();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .addService(
                new IngestGrpc.IngestImplBase() {
                  @Override
                  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(HostReport r) {
                        acks.onNext(ReportAck.newBuilder().setAckedSeq(r.getSeq()).build());
                        if (acked.incrementAndGet() == wanted) System.out.println("DONE");
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {
                        acks.onCompleted();
                      }
                    };
                  }
                })
            .build()
            .start();
    System.out.println("PORT " + server.getPort());
    Thread stdin =
        Thread.ofPlatform()
            .daemon(true)
            .start(
                () -> {
                  try {
                    while (System.in.read() >= 0) {}
                  } catch (java.io.IOException e) {
                    System.err.println("stdin: " + e);
                  }
                });
    stdin.join(TimeUnit.MINUTES.toMillis(5));
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }
}

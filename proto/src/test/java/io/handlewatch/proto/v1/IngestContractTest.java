package io.handlewatch.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The generated Ingest service carries reports one way and cumulative acks the other. */
class IngestContractTest {
  @Test
  void reportsFlowInAndAcksFlowBack() throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new IngestGrpc.IngestImplBase() {
                  @Override
                  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(HostReport r) {
                        acks.onNext(ReportAck.newBuilder().setAckedSeq(r.getSeq()).build());
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
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      List<Long> acked = new CopyOnWriteArrayList<>();
      CountDownLatch done = new CountDownLatch(1);
      StreamObserver<HostReport> reports =
          IngestGrpc.newStub(channel)
              .report(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ReportAck a) {
                      acked.add(a.getAckedSeq());
                    }

                    @Override
                    public void onError(Throwable t) {
                      done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                      done.countDown();
                    }
                  });
      for (long seq = 1; seq <= 3; seq++) {
        reports.onNext(
            HostReport.newBuilder()
                .setSeq(seq)
                .setSample(
                    HostSample.newBuilder().setHost(HostIdentity.newBuilder().setHostname("db-17")))
                .build());
      }
      reports.onCompleted();
      assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(acked).containsExactly(1L, 2L, 3L);
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }
}

package io.handlewatch.agent.transport;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import io.handlewatch.proto.v1.ReportRejection;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;

/**
 * An in-process Ingest server for agent tests: records every report it receives, acks each one
 * (unless told to hold), refuses the seqs the test picks, and can be stopped and started again.
 */
final class FakeCollector {
  final String name = InProcessServerBuilder.generateName();
  final LinkedBlockingQueue<HostReport> received = new LinkedBlockingQueue<>();
  final List<ServerCallStreamObserver<ReportAck>> streams = new CopyOnWriteArrayList<>();
  volatile LongPredicate refuse = seq -> false;

  /** Streams still to refuse as a busy collector does, and the delay to tell their agent. */
  final java.util.concurrent.atomic.AtomicInteger toDefer =
      new java.util.concurrent.atomic.AtomicInteger();

  volatile long deferMillis;

  /** When each stream opened, System.nanoTime(), deferred ones included. */
  final List<Long> openedAt = new CopyOnWriteArrayList<>();

  /** When false, the server reads no reports at all (manual flow control, nothing requested). */
  volatile boolean reading = true;

  private Server server;

  FakeCollector start() throws IOException {
    server =
        InProcessServerBuilder.forName(name)
            .addService(
                new IngestGrpc.IngestImplBase() {
                  @Override
                  public StreamObserver<HostReport> report(StreamObserver<ReportAck> acks) {
                    var call = (ServerCallStreamObserver<ReportAck>) acks;
                    openedAt.add(System.nanoTime());
                    if (toDefer.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                      call.disableAutoRequest();
                      io.grpc.Metadata trailers = new io.grpc.Metadata();
                      trailers.put(CollectorLink.RETRY_AFTER, Long.toString(deferMillis));
                      call.onError(
                          Status.UNAVAILABLE
                              .withDescription("collector busy")
                              .asRuntimeException(trailers));
                      return new StreamObserver<>() {
                        @Override
                        public void onNext(HostReport r) {}

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                      };
                    }
                    streams.add(call);
                    call.disableAutoRequest();
                    if (reading) call.request(1);
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(HostReport r) {
                        received.add(r);
                        var ack = ReportAck.newBuilder().setAckedSeq(r.getSeq());
                        if (refuse.test(r.getSeq())) {
                          ack.setRejected(
                              ReportRejection.newBuilder()
                                  .setSeq(r.getSeq())
                                  .setCode(Status.Code.INVALID_ARGUMENT.value())
                                  .setField("sample.time")
                                  .setMessage("test refusal"));
                        }
                        synchronized (call) {
                          call.onNext(ack.build());
                        }
                        if (reading) call.request(1);
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {
                        call.onCompleted();
                      }
                    };
                  }
                })
            .build()
            .start();
    return this;
  }

  HostReport next() throws InterruptedException {
    HostReport r = received.poll(10, TimeUnit.SECONDS);
    if (r == null) throw new AssertionError("the fake collector received nothing within 10 s");
    return r;
  }

  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    streams.clear();
  }
}

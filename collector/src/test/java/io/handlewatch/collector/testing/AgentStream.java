package io.handlewatch.collector.testing;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The agent's side of one Report stream, as a test drives it: what came back, in order. */
public final class AgentStream implements StreamObserver<ReportAck> {
  public final LinkedBlockingQueue<ReportAck> acks = new LinkedBlockingQueue<>();
  public final LinkedBlockingQueue<Status> end = new LinkedBlockingQueue<>();

  /** The trailers the stream ended with, when it ended with an error. */
  public final LinkedBlockingQueue<io.grpc.Metadata> trailers = new LinkedBlockingQueue<>();

  public StreamObserver<HostReport> out;

  public static AgentStream open(Channel channel) {
    AgentStream s = new AgentStream();
    s.out = IngestGrpc.newStub(channel).report(s);
    return s;
  }

  public ReportAck nextAck() throws InterruptedException {
    ReportAck a = acks.poll(15, TimeUnit.SECONDS);
    if (a == null) throw new AssertionError("no ack within 15 s; stream ended: " + end.peek());
    return a;
  }

  /** Waits for the cumulative ack of {@code seq}, returning the acks seen on the way. */
  public List<ReportAck> ackedUpTo(long seq) throws InterruptedException {
    List<ReportAck> seen = new ArrayList<>();
    while (seen.isEmpty() || seen.getLast().getAckedSeq() < seq) seen.add(nextAck());
    return seen;
  }

  public Status ended() throws InterruptedException {
    Status s = end.poll(15, TimeUnit.SECONDS);
    if (s == null) throw new AssertionError("stream did not end within 15 s");
    return s;
  }

  @Override
  public void onNext(ReportAck a) {
    acks.add(a);
  }

  @Override
  public void onError(Throwable t) {
    io.grpc.Metadata m = Status.trailersFromThrowable(t);
    if (m != null) trailers.add(m);
    end.add(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    end.add(Status.OK);
  }
}

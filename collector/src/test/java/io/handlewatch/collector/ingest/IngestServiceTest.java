package io.handlewatch.collector.ingest;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.testing.AgentStream;
import io.handlewatch.collector.testing.ControllableStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ReportAck;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Ingest over the in-process gRPC transport, against a store the test controls. */
class IngestServiceTest {
  private static final int MAX_IN_FLIGHT = 8;

  private final ControllableStore store = new ControllableStore();
  private final MetricRegistry registry = new MetricRegistry();
  private final IngestMetrics metrics = new IngestMetrics(registry);
  private Server server;
  private ManagedChannel channel;
  private IngestService service;
  private final Instant now = Instant.now();

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    service =
        new IngestService(store, new ReportValidator(new ReportLimits()), metrics, MAX_IN_FLIGHT);
    server = InProcessServerBuilder.forName(name).addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    service.close();
  }

  private AgentStream connect() {
    return AgentStream.open(channel);
  }

  @Test
  void acksAreCumulativeAndInOrderEvenWhenTheStoreFinishesOutOfOrder() throws Exception {
    AgentStream agent = connect();
    for (long seq = 1; seq <= 3; seq++) agent.out.onNext(report("web-1", seq, now));
    var w1 = store.next();
    var w2 = store.next();
    var w3 = store.next();

    w3.complete();
    w2.complete();
    assertThat(agent.acks.poll(200, TimeUnit.MILLISECONDS))
        .as("nothing is acked while seq 1 is still being stored")
        .isNull();
    w1.complete();
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(3);
    assertThat(metrics.reportsStored()).isEqualTo(3);
    assertThat(metrics.unackedReports()).isZero();

    agent.out.onCompleted();
    assertThat(agent.ended().isOk()).isTrue();
  }

  @Test
  void aBadReportIsRefusedByFieldAndTheStreamStaysUp() throws Exception {
    store.autoComplete();
    AgentStream agent = connect();
    agent.out.onNext(report("web-1", 1, now));
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(1);

    HostReport badHost =
        report("web-1", 2, now).toBuilder()
            .setSample(report("web 1; rm -rf", 2, now).getSample())
            .build();
    agent.out.onNext(badHost);
    ReportAck refused = agent.nextAck();
    assertThat(refused.getAckedSeq()).isEqualTo(2);
    assertThat(refused.getRejected().getSeq()).isEqualTo(2);
    assertThat(refused.getRejected().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
    assertThat(refused.getRejected().getField()).isEqualTo("sample.host.hostname");

    // An hour ahead is measured and corrected; years ahead cannot be right.
    HostReport future = report("web-1", 3, now.plusSeconds(2 * 365 * 86_400L));
    agent.out.onNext(future);
    assertThat(agent.nextAck().getRejected().getField()).isEqualTo("sample.time");

    agent.out.onNext(report("web-1", 4, now));
    ReportAck ok = agent.nextAck();
    assertThat(ok.getAckedSeq()).isEqualTo(4);
    assertThat(ok.hasRejected()).isFalse();
    assertThat(metrics.rejectedCount("host")).isEqualTo(1);
    assertThat(metrics.rejectedCount("clock")).isEqualTo(1);
    assertThat(store.latest("web-1").orElseThrow().getSeq()).isEqualTo(4);
  }

  @Test
  void anotherHostOnTheSameStreamIsRefused() throws Exception {
    store.autoComplete();
    AgentStream agent = connect();
    agent.out.onNext(report("web-1", 1, now));
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(1);
    agent.out.onNext(report("db-1", 2, now));
    ReportAck a = agent.nextAck();
    assertThat(a.getRejected().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED.value());
    assertThat(store.latest("db-1")).isEmpty();
  }

  @Test
  void whileTheStoreIsBehindNoFurtherReportsAreTakenAndTheStreamStaysUp() throws Exception {
    AgentStream agent = connect();
    agent.out.onNext(report("web-1", 1, now));
    store.next().complete();
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(1);

    store.backlog(0.9); // InfluxDB has fallen behind: 90 % of the write buffer waits
    long last = 1 + MAX_IN_FLIGHT + 4;
    for (long seq = 2; seq <= last; seq++) agent.out.onNext(report("web-1", seq, now));
    for (int i = 0; i < MAX_IN_FLIGHT; i++) store.next().complete();
    awaitAcked(agent, 1 + MAX_IN_FLIGHT);
    assertThat(store.next(java.time.Duration.ofMillis(300)))
        .as("no report taken while the store is behind")
        .isNull();
    assertThat(registry.getGauges().get("ingest.streams.held").getValue()).isEqualTo(1);

    store.backlog(0.1); // caught up (below half of ingest.backpressureAt)
    for (int i = 0; i < 4; i++) store.next().complete();
    awaitAcked(agent, last);
    assertThat(agent.acks).isEmpty();
    assertThat(metrics.reportsStored()).isEqualTo(last);
    assertThat(registry.getGauges().get("ingest.streams.held").getValue()).isEqualTo(0);
  }

  private static void awaitAcked(AgentStream agent, long seq) throws InterruptedException {
    long acked = 0;
    while (acked < seq) acked = agent.nextAck().getAckedSeq();
    assertThat(acked).isEqualTo(seq);
  }

  @Test
  void aStreamWhoseFirstWriteFailsAsksForItsFirstSeqAgain() throws Exception {
    AgentStream replaying = connect();
    replaying.out.onNext(report("web-1", 41, now));
    store
        .next()
        .future()
        .completeExceptionally(
            new StoreException(StoreException.Kind.TRANSIENT, "influxdb: connection refused"));
    Status end = replaying.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(end.getDescription()).contains("replay from seq 41:");
  }

  @Test
  void aFailingStoreEndsTheStreamUnacknowledgedAndTheAgentCanReplay() throws Exception {
    AgentStream first = connect();
    first.out.onNext(report("web-1", 1, now));
    first.out.onNext(report("web-1", 2, now.plusSeconds(10)));
    store.next().complete();
    assertThat(first.nextAck().getAckedSeq()).isEqualTo(1);
    store
        .next()
        .future()
        .completeExceptionally(
            new StoreException(StoreException.Kind.TRANSIENT, "influxdb: 503 Service Unavailable"));
    Status end = first.ended();
    assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(end.getDescription()).contains("replay from seq 2");
    assertThat(first.acks).isEmpty();

    store.autoComplete();
    AgentStream again = connect();
    again.out.onNext(report("web-1", 2, now.plusSeconds(10)));
    assertThat(again.nextAck().getAckedSeq()).isEqualTo(2);
    assertThat(metrics.connectedAgents()).isEqualTo(1);
    again.out.onCompleted();
    again.ended();
    assertThat(metrics.connectedAgents()).isZero();
  }

  @Test
  void aSlowStoreHoldsTheStreamAtItsInFlightLimit() throws Exception {
    AgentStream agent = connect();
    int sent = MAX_IN_FLIGHT * 5;
    for (long seq = 1; seq <= sent; seq++)
      agent.out.onNext(report("web-1", seq, now.plusMillis(seq)));

    ControllableStore.Write[] first = new ControllableStore.Write[MAX_IN_FLIGHT];
    for (int i = 0; i < MAX_IN_FLIGHT; i++) first[i] = store.next();
    // gRPC delivers no more than ingest requested: the other reports wait in flow control.
    assertThat(store.next(Duration.ofMillis(300))).isNull();
    assertThat(metrics.unackedReports()).isEqualTo(MAX_IN_FLIGHT);

    first[0].complete();
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(1);
    var ninth = store.next();
    assertThat(ninth.report().getSeq()).isEqualTo(MAX_IN_FLIGHT + 1);
    assertThat(store.next(Duration.ofMillis(300))).isNull();

    for (int i = 1; i < MAX_IN_FLIGHT; i++) first[i].complete();
    ninth.complete();
    // Each settled report lets exactly one more in, until all were stored, in seq order.
    for (long seq = MAX_IN_FLIGHT + 2; seq <= sent; seq++) {
      var w = store.next();
      assertThat(w.report().getSeq()).isEqualTo(seq);
      w.complete();
    }
    long last = 0;
    while (last < sent) last = agent.nextAck().getAckedSeq();
    assertThat(last).isEqualTo(sent);
  }
}

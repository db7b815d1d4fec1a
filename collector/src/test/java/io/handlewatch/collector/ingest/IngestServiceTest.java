package io.handlewatch.collector.ingest;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.WriteOutcome;
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
  private MetricRegistry registry = new MetricRegistry();
  private IngestMetrics metrics = new IngestMetrics(registry);
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
    // Each report's time is decomposed; seq 3, stored first, waited for seq 1 before its ack.
    assertThat(registry.timer("ingest.latency.receipt_to_write").getCount()).isEqualTo(3);
    assertThat(registry.timer("ingest.store.latency").getCount()).isEqualTo(3);
    var ackWait = registry.timer("ingest.latency.store_ack_to_ack");
    assertThat(ackWait.getCount()).isEqualTo(3);
    assertThat(ackWait.getSnapshot().getMax())
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
    assertThat(registry.timer("ingest.latency.collector_added").getCount()).isEqualTo(3);
    assertThat(metrics.unackedReports()).isZero();

    agent.out.onCompleted();
    assertThat(agent.ended().isOk()).isTrue();
  }

  @Test
  void theWaitForAFreeStoreWriterIsTimedApartFromWhatTheCollectorAdds() throws Exception {
    AgentStream agent = connect();
    agent.out.onNext(report("web-1", 1, now));
    var w = store.next();
    // The report stays in the store at least 300 ms: nothing is acked meanwhile.
    assertThat(agent.acks.poll(300, TimeUnit.MILLISECONDS)).isNull();
    // The store says it waited 200 ms for a free writer and its backend took 50 ms.
    long waited = TimeUnit.MILLISECONDS.toNanos(200);
    w.future()
        .complete(
            WriteOutcome.written(ReportPoints.of(w.report()).size())
                .took(TimeUnit.MILLISECONDS.toNanos(50))
                .waitedForWriter(waited));
    assertThat(agent.nextAck().getAckedSeq()).isEqualTo(1);
    long added = registry.timer("ingest.latency.collector_added").getSnapshot().getMax();
    var less = registry.timer("ingest.latency.collector_added_less_writer_wait");
    assertThat(added).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(250));
    assertThat(less.getCount()).isEqualTo(1);
    assertThat(less.getSnapshot().getMax()).isEqualTo(added - waited);
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
  void reportsInFlightNeverExceedTheSharedBudgetAndStreamsOpenedMeanwhileAreToldToComeBack()
      throws Exception {
    int perReport = ReportPoints.maxPoints(report("web-0", 1, now));
    restart(3L * perReport); // room for three reports in flight, whatever the number of streams

    int streams = 4;
    int each = 3;
    AgentStream[] agents = new AgentStream[streams];
    for (int i = 0; i < streams; i++) agents[i] = connect();
    // All four open while nothing waits; only then do their reports come.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (registry.counter("ingest.streams.opened").getCount() < streams
        && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(registry.counter("ingest.streams.opened").getCount()).isEqualTo(streams);
    for (int i = 0; i < streams; i++) {
      for (long seq = 1; seq <= each; seq++) {
        agents[i].out.onNext(report("web-" + i, seq, now.plusMillis(seq)));
      }
    }
    java.util.ArrayDeque<ControllableStore.Write> inStore = new java.util.ArrayDeque<>();
    for (int i = 0; i < 3; i++) inStore.add(store.next());
    assertThat(store.next(Duration.ofMillis(300)))
        .as("a fourth report would pass the budget: it waits for credit")
        .isNull();
    assertThat(registry.getGauges().get("ingest.admission.points.inflight").getValue())
        .isEqualTo(3L * perReport);
    assertThat((Integer) registry.getGauges().get("ingest.streams.held").getValue()).isPositive();

    AgentStream late = connect();
    late.out.onNext(report("web-late", 1, now));
    Status deferred = late.ended();
    assertThat(deferred.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(deferred.getDescription()).contains("collector busy");
    long retryAfter = Long.parseLong(late.trailers.take().get(IngestService.RETRY_AFTER));
    assertThat(retryAfter).isBetween(1_000L, 60_000L);
    assertThat(metrics.streamsDeferred()).isEqualTo(1);

    // Each settled report lets one more in, never more than the budget at once, until all are in.
    int written = 0;
    while (written < streams * each) {
      ControllableStore.Write w = inStore.poll();
      assertThat(w).as("a report in the store while some still wait").isNotNull();
      w.complete();
      written++;
      ControllableStore.Write more =
          written + inStore.size() < streams * each ? store.next() : null;
      if (more != null) inStore.add(more);
      assertThat(inStore.size()).isLessThanOrEqualTo(3);
      assertThat(store.waiting()).isZero();
    }
    for (int i = 0; i < streams; i++) awaitAcked(agents[i], each);
    assertThat(metrics.reportsStored()).isEqualTo(streams * each);
    assertThat(metrics.streamsEndedByStore()).isZero();
    assertThat(registry.getGauges().get("ingest.streams.held").getValue()).isEqualTo(0);
    assertThat(registry.getGauges().get("ingest.admission.points.inflight").getValue())
        .isEqualTo(0L);

    AgentStream again = connect();
    again.out.onNext(report("web-late", 1, now));
    store.next().complete();
    assertThat(again.nextAck().getAckedSeq())
        .as("once nothing waits, a new stream is admitted")
        .isEqualTo(1);
  }

  @Test
  void aStreamOpenedWhileTheStreamsAlreadyInWaitIsLetInAndItsFirstReportStoredBeforeTheirs()
      throws Exception {
    // A store slower than the fleet: the streams already in always have a report waiting for
    // credit. A stream that opened then used to be deferred each time it came back, and an agent
    // whose stream ended before its first ack was never acknowledged again.
    int perReport = ReportPoints.maxPoints(report("web-0", 1, now));
    restart(perReport); // one report in flight at a time
    AgentStream busy = connect();
    for (long seq = 1; seq <= 4; seq++)
      busy.out.onNext(report("web-busy", seq, now.plusMillis(seq)));
    ControllableStore.Write inStore = store.next();
    awaitGauge("ingest.streams.held", 1);

    AgentStream fresh = connect();
    fresh.out.onNext(report("web-new", 1, now));
    awaitGauge("ingest.streams.held.first", 1);
    assertThat(metrics.streamsDeferred()).isZero();

    inStore.complete();
    ControllableStore.Write next = store.next();
    assertThat(next.report().getSample().getHost().getHostname())
        .as("the new stream's first report goes ahead of web-busy's seq 2, which waited longer")
        .isEqualTo("web-new");
    next.complete();
    assertThat(fresh.nextAck().getAckedSeq()).isEqualTo(1);
    for (long seq = 2; seq <= 4; seq++) {
      ControllableStore.Write w = store.next();
      assertThat(w.report().getSeq()).isEqualTo(seq);
      w.complete();
    }
    awaitAcked(busy, 4);
    assertThat(metrics.streamsEndedByStore()).isZero();
    assertThat(registry.getGauges().get("ingest.admission.points.inflight").getValue())
        .isEqualTo(0L);
  }

  private void awaitGauge(String name, int value) {
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(registry.getGauges().get(name).getValue()).isEqualTo(value));
  }

  /** Starts the service again with an admission budget of {@code points}. */
  private void restart(long points) throws Exception {
    stop();
    registry = new MetricRegistry();
    metrics = new IngestMetrics(registry);
    String name = InProcessServerBuilder.generateName();
    service =
        new IngestService(
            store,
            new ReportValidator(new ReportLimits()),
            metrics,
            MAX_IN_FLIGHT,
            AgentQuotas.of(new ReportLimits()),
            points,
            IngestService.clockOffsets(new ReportLimits()));
    server = InProcessServerBuilder.forName(name).addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
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

package io.handlewatch.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import dev.failsafe.RetryPolicy;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The agent's stream against an in-process collector. */
class CollectorLinkTest {
  private FakeCollector collector;
  private ManagedChannel channel;
  private ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
  private CollectorLink link;
  private final MemoryReportQueue queue = new MemoryReportQueue(100, 1 << 20);

  private static final RetryPolicy<Void> FAST =
      RetryPolicy.<Void>builder()
          .handle(Throwable.class)
          .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
          .withMaxRetries(-1)
          .build();

  private void connect(Duration healthyAfter) throws Exception {
    collector = new FakeCollector().start();
    channel = InProcessChannelBuilder.forName(collector.name).build();
    link =
        new CollectorLink(
            "test",
            channel,
            queue,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            FAST,
            exec,
            healthyAfter);
    link.start();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (link != null) link.close();
    if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (collector != null) collector.stop();
    exec.shutdownNow();
  }

  static HostReport report(long seq) {
    return HostReport.newBuilder()
        .setSeq(seq)
        .setSample(
            HostSample.newBuilder()
                .setTime(Timestamp.newBuilder().setSeconds(1_700_000_000L + seq))
                .setHost(HostIdentity.newBuilder().setHostname("web-1"))
                .addSysctls(Sysctl.newBuilder().setName("net.core.somaxconn").setValue("4096")))
        .build();
  }

  private void send(long seq) {
    queue.append(report(seq));
    link.wake();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(5); // polling a condition with a deadline
    }
  }

  @Test
  void aBusyCollectorsRetryDelayIsHonouredInsteadOfTheBackoffAndNothingIsLost() throws Exception {
    collector = new FakeCollector();
    collector.deferMillis = 400;
    collector.toDefer.set(2);
    collector.start();
    for (long s = 1; s <= 3; s++) queue.append(report(s));
    channel = InProcessChannelBuilder.forName(collector.name).build();
    link =
        new CollectorLink(
            "test",
            channel,
            queue,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            FAST, // 20 ms: without the delay, the agent would be back at once
            exec,
            Duration.ofSeconds(30));
    link.start();
    for (long s = 1; s <= 3; s++) assertThat(collector.next().getSeq()).isEqualTo(s);
    await("all acked", () -> queue.size() == 0);
    assertThat(collector.openedAt).hasSize(3);
    for (int i = 1; i < 3; i++) {
      long gapMs = (collector.openedAt.get(i) - collector.openedAt.get(i - 1)) / 1_000_000;
      assertThat(gapMs).as("wait before stream %d", i + 1).isBetween(400L, 2_000L);
    }
    assertThat(link.deferrals()).isEqualTo(2);
  }

  @Test
  void acksEmptyTheQueueInOrder() throws Exception {
    connect(Duration.ofSeconds(30));
    for (long s = 1; s <= 5; s++) send(s);
    for (long s = 1; s <= 5; s++) assertThat(collector.next().getSeq()).isEqualTo(s);
    await("acks", () -> queue.size() == 0);
    assertThat(link.ackedUpTo()).isEqualTo(5);
  }

  @Test
  void onlyTheFirstReportOfAStreamCarriesUnchangedSysctls() throws Exception {
    connect(Duration.ofSeconds(30));
    send(1);
    send(2);
    assertThat(collector.next().getSample().getSysctlsCount()).isEqualTo(1);
    assertThat(collector.next().getSample().getSysctlsCount()).isZero();
  }

  @Test
  void aRefusedReportIsCountedAndNotResent() throws Exception {
    connect(Duration.ofSeconds(30));
    collector.refuse = seq -> seq == 2;
    for (long s = 1; s <= 3; s++) send(s);
    for (long s = 1; s <= 3; s++) collector.next();
    await("acks", () -> queue.size() == 0);
    assertThat(link.rejected()).isEqualTo(1);
    assertThat(collector.received.poll(200, TimeUnit.MILLISECONDS)).isNull();
  }

  @Test
  void afterTheCollectorComesBackUnackedReportsAreReplayedInOrderWithTheirSeq() throws Exception {
    connect(Duration.ofSeconds(30));
    send(1);
    assertThat(collector.next().getSeq()).isEqualTo(1);
    await("ack of 1", () -> queue.size() == 0);

    collector.stop();
    await("disconnect", () -> !link.isConnected());
    for (long s = 2; s <= 4; s++) send(s);
    collector.start();

    for (long s = 2; s <= 4; s++) {
      HostReport r = collector.next();
      assertThat(r.getSeq()).isEqualTo(s);
      // A new stream: its first report carries the sysctls again.
      if (s == 2) assertThat(r.getSample().getSysctlsCount()).isEqualTo(1);
    }
    await("acks after replay", () -> queue.size() == 0);
    assertThat(collector.received.poll(200, TimeUnit.MILLISECONDS))
        .as("nothing acked is resent")
        .isNull();
    assertThat(link.streamsOpened()).isGreaterThan(1);
  }

  @Test
  void aCollectorThatReadsNothingHoldsTheSenderAndTheQueueBoundHolds() throws Exception {
    MemoryReportQueue small = new MemoryReportQueue(10, 1 << 20);
    collector = new FakeCollector();
    collector.reading = false;
    collector.start();
    channel = InProcessChannelBuilder.forName(collector.name).build();
    link =
        new CollectorLink(
            "test",
            channel,
            small,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            FAST,
            exec,
            Duration.ofSeconds(30));
    link.start();
    for (long s = 1; s <= 50; s++) {
      small.append(report(s));
      link.wake();
    }
    assertThat(collector.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    assertThat(small.size()).isEqualTo(10);
    assertThat(small.dropped()).isEqualTo(40);
    assertThat(small.next(0).orElseThrow().getSeq()).as("the oldest went first").isEqualTo(41);
  }
}

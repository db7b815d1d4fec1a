package io.handlewatch.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.failsafe.RetryPolicy;
import io.grpc.ManagedChannel;
import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.agent.testing.IngestServer;
import io.handlewatch.agent.testing.IngestServer.Mode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code --collector} naming several collectors, over real gRPC on loopback: the agent streams to
 * one that answers, a fleet spreads over them, and when the one in use goes away the agent moves to
 * another and replays what was not acknowledged there.
 */
class CollectorTargetsIT {
  private static final RetryPolicy<Void> FAST =
      RetryPolicy.<Void>builder()
          .handle(Throwable.class)
          .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
          .withMaxRetries(-1)
          .build();

  private final ScheduledExecutorService exec = Executors.newScheduledThreadPool(2);
  private final List<AutoCloseable> toClose = new ArrayList<>();

  /** One agent's link: its channel to the targets, its queue. */
  private record Agent(CollectorLink link, MemoryReportQueue queue) {
    void send(long seq) {
      queue.append(CollectorLinkTest.report(seq));
      link.wake();
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose.reversed()) c.close();
    exec.shutdownNow();
  }

  private IngestServer collector() throws Exception {
    IngestServer s = IngestServer.start(Mode.ACK);
    toClose.add(s);
    return s;
  }

  private Agent agent(String spec) {
    ManagedChannel channel =
        CollectorChannels.open(
            CollectorTargets.parse(spec), LinkSecurity.plaintext(), exec, KeepAlive.DEFAULT);
    MemoryReportQueue queue = new MemoryReportQueue(1000, 1 << 20);
    CollectorLink link =
        new CollectorLink(
            spec,
            channel,
            queue,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            FAST,
            exec,
            Duration.ofMillis(200));
    toClose.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    toClose.add(link);
    link.start();
    return new Agent(link, queue);
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort(); // nothing listens there once the socket closes
    }
  }

  private static long seqsAt(IngestServer s) {
    return s.received().stream().map(r -> r.report().getSeq()).distinct().count();
  }

  private static void await(String what, BooleanSupplier ok) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(20); // polling a condition with a deadline
    }
  }

  @Test
  void aDeadCollectorInTheListIsPassedOver() throws Exception {
    IngestServer live = collector();
    Agent a = agent("127.0.0.1:" + closedPort() + "," + live.target());
    for (long seq = 1; seq <= 5; seq++) a.send(seq);
    await("all acknowledged by the live collector", () -> a.queue().size() == 0);
    assertThat(seqsAt(live)).isEqualTo(5);
  }

  @Test
  void aFleetSpreadsOverTheCollectorsOneStreamEach() throws Exception {
    IngestServer c1 = collector();
    IngestServer c2 = collector();
    List<Agent> fleet = new ArrayList<>();
    for (int i = 0; i < 20; i++) fleet.add(agent(c1.target() + "," + c2.target()));
    for (Agent a : fleet) a.send(1);
    await("every agent acknowledged", () -> fleet.stream().allMatch(a -> a.queue().size() == 0));
    assertThat(c1.streams() + c2.streams()).isEqualTo(20);
    // Shuffled per agent: all 20 on one collector has odds of 2 in a million.
    assertThat(c1.streams()).isBetween(1, 19);
  }

  @Test
  void whenItsCollectorGoesAwayTheAgentMovesToAnotherAndReplays() throws Exception {
    IngestServer c1 = collector();
    IngestServer c2 = collector();
    Agent a = agent(c1.target() + "," + c2.target());
    a.send(1);
    await("first report acknowledged", () -> a.queue().size() == 0);
    IngestServer used = c1.streams() == 1 ? c1 : c2;
    IngestServer other = used == c1 ? c2 : c1;
    used.mode(Mode.HOLD); // reports 2 and 3 reach it but are never acknowledged
    a.send(2);
    a.send(3);
    await("2 and 3 read unacknowledged", () -> seqsAt(used) == 3);
    used.close();
    a.send(4);
    await("2, 3 and 4 acknowledged by the other", () -> a.queue().size() == 0);
    List<Long> there = other.received().stream().map(r -> r.report().getSeq()).toList();
    assertThat(there).containsExactly(2L, 3L, 4L);
  }
}

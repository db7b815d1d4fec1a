package io.handlewatch.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.agent.sample.CommandLines;
import io.handlewatch.agent.sample.SampleOptions;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.agent.testing.IngestServer;
import io.handlewatch.agent.testing.IngestServer.Mode;
import io.handlewatch.agent.testing.IngestServer.Received;
import io.handlewatch.agent.transport.CollectorTargets;
import io.handlewatch.agent.transport.KeepAlive;
import io.handlewatch.agent.transport.LinkSecurity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent daemon in process, against a real gRPC server on loopback: it samples on its schedule,
 * spools and streams, serves its metrics, keeps what was not acknowledged across a stop, and the
 * next start on the same state directory replays it and numbers on.
 */
class AgentRuntimeTest {
  static final Path PROC = Path.of("src/test/resources/proc/edge-cases/proc");

  @TempDir Path state;

  private AgentRuntime runtime(IngestServer server, InetSocketAddress metrics) {
    String target = server.target();
    Sampler sampler =
        new Sampler(
            new ProcFs(PROC),
            List.of(new ProcNetTcpSocketTable(PROC)),
            new SampleOptions(
                10, 10, false, List.of(), 30, "runtime-test", null, CommandLines.FULL),
            Clock.systemUTC());
    return new AgentRuntime(
        new AgentRuntime.Settings(
            target,
            CollectorTargets.parse(target),
            KeepAlive.DEFAULT,
            LinkSecurity.plaintext(),
            state,
            SpoolConfig.of(state.resolve("spool"), 1 << 20, FsyncPolicy.ALWAYS, 100, 1 << 20),
            Duration.ofMillis(100),
            metrics,
            PROC,
            "runtime-test"),
        sampler);
  }

  @Test
  void streamsKeepsTheUnacknowledgedAcrossAStopAndReplaysThemOnTheNextStart() throws Exception {
    try (IngestServer server = IngestServer.start(Mode.HOLD)) {
      long lastOfFirstRun;
      try (AgentRuntime first =
          runtime(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
        first.start();
        await("5 reports read and held", () -> server.received().size() >= 5);
        assertThat(seqs(server.received())).startsWith(1L, 2L, 3L, 4L, 5L);
        assertThat(server.received().getFirst().report().getSample().getHost().getHostname())
            .isEqualTo("runtime-test");
        assertThat(first.unacknowledged()).as("nothing acknowledged").isGreaterThanOrEqualTo(5);

        assertThat(first.metricsPort()).isPositive();
        HttpResponse<String> scrape =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + first.metricsPort() + "/metrics"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.body()).contains("handlewatch_agent_");

        first.stop();
        lastOfFirstRun = first.lastSeq();
        assertThat(lastOfFirstRun).isGreaterThanOrEqualTo(5);
        first.stop(); // a second stop (the shutdown hook after close) does nothing
      }
      assertThat(Files.list(state.resolve("spool")).toList())
          .as("the unacknowledged reports wait on disk")
          .isNotEmpty();

      int mark = server.received().size();
      server.mode(Mode.ACK);
      try (AgentRuntime second = runtime(server, null)) {
        second.start();
        await(
            "the first run's reports replayed and new ones numbered after them",
            () -> {
              TreeSet<Long> got = seqs(server.received().subList(mark, server.received().size()));
              return !got.isEmpty()
                  && got.first() == 1
                  && got.containsAll(seqs(server.received().subList(0, mark)))
                  && got.last() > lastOfFirstRun + 2;
            });
        await("every report acknowledged", () -> second.unacknowledged() == 0);
        assertThat(second.metricsPort()).as("no metrics address, no endpoint").isEqualTo(-1);
        assertThat(second.samplesFailed()).isZero();
      }
    }
  }

  @Test
  void aRuntimeStartsOnceAndAStopBeforeTheStartDoesNothing() throws Exception {
    try (IngestServer server = IngestServer.start(Mode.ACK)) {
      AgentRuntime runtime = runtime(server, null);
      runtime.stop();
      assertThat(runtime.lastSeq()).isZero();
      runtime.start();
      try {
        assertThatThrownBy(runtime::start).isInstanceOf(IllegalStateException.class);
      } finally {
        runtime.close();
      }
    }
  }

  private static TreeSet<Long> seqs(List<Received> rs) {
    return rs.stream().map(r -> r.report().getSeq()).collect(Collectors.toCollection(TreeSet::new));
  }

  /** Polls a condition for up to 30 s; the runtime samples every 100 ms. */
  private static void await(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("not within 30 s: " + what);
      Thread.sleep(20);
    }
  }
}

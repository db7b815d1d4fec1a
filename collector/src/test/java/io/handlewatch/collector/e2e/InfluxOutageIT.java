package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.await;
import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static io.handlewatch.collector.testing.RealPrograms.gaps;
import static io.handlewatch.collector.testing.RealPrograms.storedSeqs;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.RealPrograms;
import io.handlewatch.collector.testing.RealPrograms.AgentStop;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real programs on a real influxd that is stopped for two minutes mid-stream. The collector
 * must not pretend: it acks nothing it has not stored, holds back the agent (flow control and a
 * failed stream, not an unbounded buffer), says the store is down in its health check, and takes up
 * again by itself when influxd returns. Mid-outage the agent is killed with SIGKILL, its spool full
 * of unacknowledged reports, and started again. Afterwards InfluxDB holds every report it took.
 */
class InfluxOutageIT {
  private static final String DB = "outage";
  private static final String HOST = "outage-host";
  private static final Duration OUTAGE = Duration.ofMinutes(2);
  private static final int MAX_IN_FLIGHT = 16;

  @TempDir Path dir;
  private InfluxdHarness influxd;
  private RealPrograms programs;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    if (influxd != null) influxd.close();
  }

  @Test
  void anInfluxOutageOfTwoMinutesLosesNothing() throws Exception {
    influxd = InfluxdHarness.start();
    programs = new RealPrograms(dir);
    int grpc = freePort();
    int admin = freePort();
    Path config = dir.resolve("collector.yml");
    RealPrograms.writeCollectorConfig(
        config,
        "{bindHost: 127.0.0.1, port: %d, maxInFlightPerStream: %d}".formatted(grpc, MAX_IN_FLIGHT),
        "{type: influxdb, url: \"%s\", database: %s, flushInterval: 20ms, maxRetryTime: 10s,"
                .formatted(influxd.url(), DB)
            + " requestTimeout: 2s}",
        freePort(),
        admin);
    programs.collector(config);
    await("collector healthy", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));

    Path state = dir.resolve("agent-state");
    String[] agentArgs = {
      "--collector",
      "127.0.0.1:" + grpc,
      "--interval",
      "250ms",
      "--host",
      HOST,
      "--tcp-only",
      "--state-dir",
      state.toString()
    };
    Process agent = programs.agent(List.of(), agentArgs);
    await("10 reports stored", Duration.ofSeconds(60), () -> stored().size() >= 10);

    influxd.stop(false);
    long outageEnds = System.nanoTime() + OUTAGE.toNanos();
    await(
        "the health check to report the store down",
        Duration.ofSeconds(30),
        () -> RealPrograms.healthcheck(admin).orElse(0) == 500);
    long storedBefore = stored().getLast();

    // Held back, not buffered: what the collector holds for the one agent stays within its
    // per-stream window however long InfluxDB is away.
    long maxUnacked = 0;
    boolean killed = false;
    long lastOfKilled = 0;
    long firstOfRestarted = 0;
    while (System.nanoTime() < outageEnds) {
      JsonNode m = RealPrograms.metrics(admin);
      if (m != null) {
        maxUnacked = Math.max(maxUnacked, m.at("/gauges/ingest.unacked/value").asLong());
      }
      if (!killed && System.nanoTime() > outageEnds - OUTAGE.toNanos() / 2) {
        assertThat(spoolBytes(state.resolve("spool")))
            .as("the agent's spool holds what it could not deliver")
            .isGreaterThan(0);
        agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        // What the killed agent took is 1..the last seq its spool saw; the restarted one numbers
        // on from above the block its seq file had reserved, so the seqs in between were never
        // taken.
        try (DiskSpool spool =
            DiskSpool.open(
                SpoolConfig.of(
                    state.resolve("spool"), 64 << 20, FsyncPolicy.ALWAYS, 2000, 8 << 20))) {
          lastOfKilled = spool.lastSeq();
          assertThat(spool.size())
              .as("unacknowledged reports in the killed agent's spool")
              .isPositive();
        }
        long reserved = Long.parseLong(Files.readString(state.resolve("seq")).strip());
        firstOfRestarted = Math.max(reserved, lastOfKilled) + 1;
        agent = programs.agent(List.of(), agentArgs);
        killed = true;
      }
      Thread.sleep(500); // sampling the gauge through a fixed outage, not synchronising
    }
    assertThat(killed).as("the agent was killed mid-outage").isTrue();
    assertThat(maxUnacked)
        .as("reports the collector held at once")
        .isLessThanOrEqualTo(MAX_IN_FLIGHT);
    assertThat(programs.log("agent"))
        .as("the agent was told to replay")
        .contains("replay from seq");

    long lastOfKilledFinal = lastOfKilled;
    long firstOfRestartedFinal = firstOfRestarted;
    influxd.restart();
    await("the collector healthy again", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));
    await(
        "the reports of the outage to arrive",
        Duration.ofSeconds(120),
        () -> {
          List<Long> s = stored();
          return s.getLast() > storedBefore + OUTAGE.toSeconds() * 4
              && missing(s, s.getLast(), lastOfKilledFinal, firstOfRestartedFinal).isEmpty();
        });

    AgentStop stop =
        programs.stopAndDrain(
            agent,
            List.of(),
            agentArgs,
            st ->
                missing(stored(), st.lastSeq(), lastOfKilledFinal, firstOfRestartedFinal)
                    .isEmpty());
    assertThat(missing(stored(), stop.lastSeq(), lastOfKilled, firstOfRestarted))
        .as(
            "every report the agents took (1..%d, then %d..%d) is in InfluxDB",
            lastOfKilled, firstOfRestarted, stop.lastSeq())
        .isEmpty();
    assertThat(programs.log("collector"))
        .contains("store failed, ending stream so the agent replays");
  }

  /**
   * The seqs taken (1..{@code lastOfKilled}, {@code firstOfRestarted}..{@code last}) not stored.
   */
  private static List<Long> missing(
      List<Long> stored, long last, long lastOfKilled, long firstOfRestarted) {
    return gaps(stored, last).stream()
        .filter(s -> s <= lastOfKilled || s >= firstOfRestarted)
        .toList();
  }

  private List<Long> stored() {
    List<Long> s = storedSeqs(influxd, DB, HOST);
    return s.isEmpty() ? List.of(0L) : s;
  }

  private static long spoolBytes(Path spool) throws IOException {
    try (Stream<Path> files = Files.list(spool)) {
      return files
          .filter(p -> !p.getFileName().toString().startsWith("spool.state"))
          .mapToLong(p -> p.toFile().length())
          .sum();
    }
  }
}

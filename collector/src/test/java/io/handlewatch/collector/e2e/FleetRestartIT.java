package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.await;
import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static io.handlewatch.collector.testing.RealPrograms.gaps;
import static io.handlewatch.collector.testing.RealPrograms.storedSeqs;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.RealPrograms;
import io.handlewatch.collector.testing.RealPrograms.AgentStop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A collector restarted in front of a fleet: the collector jar on a real influxd with a small write
 * buffer, 200 simulated hosts ({@code handlewatch-agent simulate}) and one real agent stream to it;
 * it is killed with SIGKILL and started again while they all reconnect at once. No stream is ended
 * for a full buffer (agents that come during the storm are deferred with a retry delay instead),
 * every report of the real agent arrives (seq 1 to its last, no gap), and detection resumes for
 * every host: each one's window is rebuilt or started, nothing is skipped, and no report waits
 * longer than one interval from its store ack to its judgement.
 */
class FleetRestartIT {
  private static final String DB = "fleetrestart";
  private static final String HOST = "fleet-real-agent";
  private static final int SIMULATED = 200;
  private static final Duration INTERVAL = Duration.ofSeconds(5);
  private static final Pattern BUFFER_FULL = Pattern.compile("buffer_full=(\\d+)");

  @TempDir Path dir;
  private InfluxdHarness influxd;
  private RealPrograms programs;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    if (influxd != null) influxd.close();
  }

  @Test
  void aCollectorKilledInFrontOfAFleetComesBackWithoutAStormOrAGap() throws Exception {
    influxd = InfluxdHarness.start();
    programs = new RealPrograms(dir);
    int grpc = freePort();
    int admin = freePort();
    Path config = dir.resolve("collector.yml");
    // 2,000 points of buffer: the admission budget (half) holds some 40 reports, far fewer than
    // the fleet sends when it reconnects at once.
    RealPrograms.writeCollectorConfig(
        config,
        "{bindHost: 127.0.0.1, port: %d}".formatted(grpc),
        "{type: influxdb, url: \"%s\", database: %s, flushInterval: 20ms, maxBufferedPoints: 2000}"
            .formatted(influxd.url(), DB),
        freePort(),
        admin);

    Process collector = programs.collector(config);
    await("collector healthy", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));
    programs.simulate(
        "--collector",
        "127.0.0.1:" + grpc,
        "--hosts",
        Integer.toString(SIMULATED),
        "--interval",
        INTERVAL.toSeconds() + "s",
        "--duration",
        "100s");
    String[] agentArgs = {
      "--collector",
      "127.0.0.1:" + grpc,
      "--interval",
      INTERVAL.toSeconds() + "s",
      "--host",
      HOST,
      "--tcp-only",
      "--state-dir",
      dir.resolve("agent-state").toString()
    };
    Process agent = programs.agent(List.of(), agentArgs);
    await(
        "the fleet reporting",
        Duration.ofSeconds(60),
        () -> stored().size() >= 2 && counter(admin, "detect.evaluations", "meters") >= SIMULATED);

    collector.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    await(
        "the agent notices",
        Duration.ofSeconds(30),
        () -> programs.log("agent").contains("disconnected from"));
    programs.collector(config);
    await("collector healthy again", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));

    // Every host is new to the restarted collector: detection resumes once its window is back.
    await(
        "detection resumed for all " + (SIMULATED + 1) + " hosts",
        Duration.ofSeconds(60),
        () ->
            counter(admin, "detect.warmup.hosts", "counters")
                    + counter(admin, "detect.warmup.cold", "counters")
                >= SIMULATED + 1);
    await(
        "every host judged again after its window",
        Duration.ofSeconds(30),
        () -> counter(admin, "detect.evaluations", "meters") >= 2L * (SIMULATED + 1));

    AgentStop stop =
        programs.stopAndDrain(
            agent, List.of(), agentArgs, s -> gaps(stored(), s.lastSeq()).isEmpty());
    assertThat(gaps(stored(), stop.lastSeq()))
        .as("every seq of the real agent from 1 to %d", stop.lastSeq())
        .isEmpty();

    JsonNode m = RealPrograms.metrics(admin);
    assertThat(m.at("/counters/store.influxdb.buffer.refused/count").asLong())
        .as("reports refused by a full buffer")
        .isZero();
    assertThat(m.at("/counters/ingest.streams.ended.store/count").asLong())
        .as("streams ended by the store")
        .isZero();
    assertThat(m.at("/counters/detect.queue.dropped/count").asLong()).as("skipped").isZero();
    JsonNode lag = m.at("/timers/detect.lag");
    assertThat(lag.at("/count").asLong()).isPositive();
    // Timers are in seconds; the reservoir keeps every value below 1,028, so max is the max.
    assertThat(lag.at("/max").asDouble())
        .as("store ack to judged, at most, in seconds")
        .isLessThan(INTERVAL.toSeconds());
    assertThat(lastBufferFull())
        .as("the simulated hosts' streams ended for a full buffer:\n%s", programs.log("simulate"))
        .isZero();
    assertThat(programs.log("agent")).doesNotContain("buffer full");
  }

  private static long counter(int admin, String name, String kind) {
    JsonNode m = RealPrograms.metrics(admin);
    return m == null ? 0 : m.at("/" + kind + "/" + name + "/count").asLong();
  }

  /** The simulator's last count of streams ended for a full buffer; -1 before its first line. */
  private long lastBufferFull() {
    Matcher mt = BUFFER_FULL.matcher(programs.log("simulate"));
    long last = -1;
    while (mt.find()) last = Long.parseLong(mt.group(1));
    return last;
  }

  private List<Long> stored() {
    return storedSeqs(influxd, DB, HOST);
  }
}

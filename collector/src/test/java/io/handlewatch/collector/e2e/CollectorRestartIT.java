package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.await;
import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static io.handlewatch.collector.testing.RealPrograms.gaps;
import static io.handlewatch.collector.testing.RealPrograms.storedSeqs;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.RealPrograms;
import io.handlewatch.collector.testing.RealPrograms.AgentStop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real programs: the agent jar streams to the collector jar, which writes to a real influxd.
 * The collector is killed with SIGKILL mid-stream and started again; afterwards InfluxDB holds
 * every report the agent took, seq 1 to the last, with no gap.
 */
class CollectorRestartIT {
  private static final String DB = "restart";
  private static final String HOST = "restart-host";

  @TempDir Path dir;
  private InfluxdHarness influxd;
  private RealPrograms programs;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    if (influxd != null) influxd.close();
  }

  @Test
  void aCollectorKilledMidStreamLosesNothing() throws Exception {
    influxd = InfluxdHarness.start();
    programs = new RealPrograms(dir);
    int grpc = freePort();
    int admin = freePort();
    Path config = dir.resolve("collector.yml");
    RealPrograms.writeCollectorConfig(
        config,
        "{bindHost: 127.0.0.1, port: %d}".formatted(grpc),
        "{type: influxdb, url: \"%s\", database: %s, flushInterval: 20ms}"
            .formatted(influxd.url(), DB),
        freePort(),
        admin);

    Process collector = programs.collector(config);
    await("collector healthy", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));
    String[] agentArgs = {
      "--collector",
      "127.0.0.1:" + grpc,
      "--interval",
      "200ms",
      "--host",
      HOST,
      "--tcp-only",
      "--state-dir",
      dir.resolve("agent-state").toString()
    };
    Process agent = programs.agent(List.of(), agentArgs);
    await("10 reports stored", Duration.ofSeconds(60), () -> stored().size() >= 10);

    collector.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    int beforeKill = stored().size();
    await(
        "the agent notices",
        Duration.ofSeconds(30),
        () -> programs.log("agent").contains("disconnected from"));

    programs.collector(config);
    await("collector healthy again", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));
    await(
        "reports flowing again", Duration.ofSeconds(60), () -> stored().size() >= beforeKill + 20);

    AgentStop stop =
        programs.stopAndDrain(
            agent, List.of(), agentArgs, s -> gaps(stored(), s.lastSeq()).isEmpty());
    List<Long> seqs = stored();
    assertThat(gaps(seqs, stop.lastSeq()))
        .as("every seq from 1 to %d, no gap", stop.lastSeq())
        .isEmpty();
    assertThat(programs.count("agent", "connected to 127"))
        .as("connected twice:\n%s", programs.log("agent"))
        .isGreaterThanOrEqualTo(2);
  }

  private List<Long> stored() {
    return storedSeqs(influxd, DB, HOST);
  }
}

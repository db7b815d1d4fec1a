package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.testing.InfluxdHarness;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real programs: the agent jar streams to the collector jar, which writes to a real influxd.
 * The collector is killed with SIGKILL mid-stream and started again; afterwards InfluxDB holds
 * every report the agent took, seq 1 to the last, with no gap.
 */
class CollectorRestartIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path COLLECTOR_JAR = Path.of("target/handlewatch-collector.jar");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final HttpClient http = HttpClient.newHttpClient();
  private static final ObjectMapper json = new ObjectMapper();

  @TempDir Path dir;
  private InfluxdHarness influxd;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    if (influxd != null) influxd.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private Process start(String name, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(JAVA));
    cmd.addAll(List.of(args));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  private static void await(String what, int seconds, BooleanSupplier ok)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(100); // polling a condition with a deadline
    }
  }

  private boolean healthy(int adminPort) {
    try {
      var r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthcheck"))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private List<Long> storedSeqs() {
    try {
      JsonNode body =
          json.readTree(
              influxd.query("restart", "SELECT seq FROM agent WHERE host = 'restart-host'"));
      List<Long> seqs = new ArrayList<>();
      for (JsonNode row : body.at("/results/0/series/0/values")) seqs.add(row.get(1).asLong());
      return seqs;
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  private String log(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  @Test
  void aCollectorKilledMidStreamLosesNothing() throws Exception {
    assertThat(COLLECTOR_JAR).exists();
    assertThat(AGENT_JAR).exists();
    influxd = InfluxdHarness.start();
    int grpc = freePort();
    int httpPort = freePort();
    int admin = freePort();
    Path config = dir.resolve("collector.yml");
    Files.writeString(
        config,
        """
        ingest: {bindHost: 127.0.0.1, port: %d}
        store: {type: influxdb, url: "%s", database: restart, flushInterval: 20ms}
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: %d}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: %d}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
            .formatted(grpc, influxd.url(), httpPort, admin));
    String[] collectorArgs = {
      "-Xmx256m", "-jar", COLLECTOR_JAR.toString(), "server", config.toString()
    };

    Process collector = start("collector", collectorArgs);
    await("collector healthy", 60, () -> healthy(admin));
    Process agent =
        start(
            "agent",
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx64m",
            "-jar",
            AGENT_JAR.toString(),
            "run",
            "--collector",
            "127.0.0.1:" + grpc,
            "--interval",
            "200ms",
            "--host",
            "restart-host",
            "--tcp-only",
            "--state-dir",
            dir.resolve("agent-state").toString());
    await("10 reports stored", 60, () -> storedSeqs().size() >= 10);

    collector.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    int beforeKill = storedSeqs().size();
    await("the agent notices", 30, () -> log("agent").contains("disconnected from"));

    start("collector", collectorArgs);
    await("collector healthy again", 60, () -> healthy(admin));
    await("reports flowing again", 60, () -> storedSeqs().size() >= beforeKill + 20);

    agent.destroy();
    assertThat(agent.waitFor(20, TimeUnit.SECONDS)).isTrue();

    List<Long> seqs = storedSeqs().stream().distinct().sorted().toList();
    long max = seqs.getLast();
    assertThat(seqs).as("every seq from 1 to %d, no gap", max).hasSize((int) max);
    assertThat(seqs.getFirst()).isEqualTo(1);
    assertThat(log("agent").split("connected to 127", -1).length - 1)
        .as("connected twice:\n%s", log("agent"))
        .isGreaterThanOrEqualTo(2);
  }
}

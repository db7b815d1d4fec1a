package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.DropwizardTestSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.ClosingServer;
import io.handlewatch.collector.testing.HttpReceiver;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promise with nothing shortened: the collector runs the default detection settings (no {@code
 * detection:} section), a real agent samples this host at its default interval (10 s), and a real
 * child started after both leaks one CLOSE_WAIT socket every 2 s towards a loopback server. A real
 * Alertmanager must get exactly one page naming the child's pid, comm and the server's ip:port
 * within 5 minutes of the leak's start, and its resolution within 3 minutes of the child closing
 * its sockets (with endsAt), and nothing else about this host in between.
 */
class DefaultSettingsLeakPagingIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final Path LEAKER = Path.of("src/test/resources/leak/CloseWaitLeaker.java");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HOST = "leak-defaults";

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  private ServerSocket closingServer() throws IOException {
    ServerSocket server = ClosingServer.start();
    closing.add(server);
    return server;
  }

  private Process start(String name, List<String> cmd) throws IOException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
            .start();
    started.add(p);
    return p;
  }

  private String log(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static void await(String what, int seconds, BooleanSupplier ok, Supplier<String> context)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after " + seconds + " s waiting for " + what + context.get());
      }
      Thread.sleep(500); // polling a condition with a deadline
    }
  }

  /** Every alert Alertmanager notified about this host, with the notification's status. */
  private static List<JsonNode> alerts(HttpReceiver r) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n;
      try {
        n = JSON.readTree(q.body());
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + q.body(), e);
      }
      for (JsonNode a : n.path("alerts")) {
        if (a.at("/labels/host").asText().equals(HOST)) out.add(a);
      }
    }
    return out;
  }

  @Test
  void aNewProcessLeakingEveryTwoSecondsIsPagedWithinFiveMinutesAndResolvedWithinThree()
      throws Exception {
    assertThat(AGENT_JAR).exists();
    HttpReceiver amReceiver = HttpReceiver.start();
    closing.add(amReceiver);
    AlertmanagerHarness am = AlertmanagerHarness.prepare(amReceiver.url() + "/").start();
    closing.add(am);

    Path config = dir.resolve("collector.yml");
    Files.writeString(
        config,
        """
        ingest: {bindHost: 127.0.0.1, port: 0}
        store: {type: memory}
        notifiers:
          - type: alertmanager
            urls: [%s]
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
            .formatted(am.url()));
    var app =
        new DropwizardTestSupport<CollectorConfiguration>(
            CollectorApplication.class, config.toString());
    app.before();
    closing.add(app::after);
    var collector = (CollectorApplication) app.getApplication();
    int grpc = collector.ingest().port();

    start(
        "agent",
        List.of(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx64m",
            "-jar",
            AGENT_JAR.toString(),
            "run",
            "--collector",
            "127.0.0.1:" + grpc,
            "--host",
            HOST,
            "--state-dir",
            dir.resolve("agent-state").toString()));
    // The child is born after the collector has the host's first report: its whole life is in
    // view (a process already running when a host's first report arrives has an unknown past and
    // waits detection.minHistory, like every series that was there before the window began).
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI hostUri =
        java.net.URI.create("http://127.0.0.1:" + app.getLocalPort() + "/api/v1/hosts/" + HOST);
    await(
        "the host's first report",
        120,
        () -> {
          try {
            return http.send(
                        java.net.http.HttpRequest.newBuilder(hostUri).build(),
                        java.net.http.HttpResponse.BodyHandlers.discarding())
                    .statusCode()
                == 200;
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        },
        () -> "\nagent:\n" + log("agent"));

    ServerSocket server = closingServer();
    String remote = "127.0.0.1:" + server.getLocalPort();
    Process leaker =
        start(
            "leaker",
            List.of(
                JAVA,
                "-Xmx32m",
                LEAKER.toAbsolutePath().toString(),
                Integer.toString(server.getLocalPort()),
                "2000"));
    long pid = leaker.pid();
    await(
        "the leaker to start",
        60,
        () -> log("leaker").contains("leaking towards"),
        () -> "\nleaker log:\n" + log("leaker"));
    Instant leakStart = Instant.now();

    await(
        "the page",
        300,
        () -> alerts(amReceiver).stream().anyMatch(a -> a.path("status").asText().equals("firing")),
        () -> "\nagent:\n" + log("agent") + "\nreceived: " + amReceiver.requests());
    Duration pagedAfter = Duration.between(leakStart, Instant.now());
    JsonNode page = alerts(amReceiver).getFirst();
    assertThat(page.path("status").asText()).isEqualTo("firing");
    assertThat(page.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(page.at("/labels/severity").asText()).isEqualTo("critical");
    assertThat(page.at("/labels/pid").asText()).isEqualTo(Long.toString(pid));
    assertThat(page.at("/labels/comm").asText()).isEqualTo("java");
    assertThat(page.at("/labels/remote").asText()).isEqualTo(remote);
    assertThat(page.at("/annotations/summary").asText())
        .contains("java[" + pid + "]", remote)
        .doesNotContain("no sampled process");
    assertThat(pagedAfter).as("paged after").isLessThanOrEqualTo(Duration.ofMinutes(5));

    leaker.getOutputStream().write("close\n".getBytes(StandardCharsets.UTF_8));
    leaker.getOutputStream().flush();
    await("the leaker to close", 30, () -> log("leaker").contains("closed "), () -> log("leaker"));
    Instant closed = Instant.now();
    await(
        "the resolution",
        180,
        () ->
            alerts(amReceiver).stream().anyMatch(a -> a.path("status").asText().equals("resolved")),
        () -> "\nreceived: " + amReceiver.requests());
    Duration resolvedAfter = Duration.between(closed, Instant.now());
    assertThat(resolvedAfter).as("resolved after").isLessThanOrEqualTo(Duration.ofMinutes(3));

    // One page, one resolution: nothing else about this host (no host-wide or port page).
    List<JsonNode> all = alerts(amReceiver);
    assertThat(
            all.stream()
                .map(a -> a.at("/labels/alertname").asText() + " " + a.at("/labels/pid").asText())
                .distinct())
        .as("alerts: %s", all)
        .containsExactly("CloseWaitGrowing " + pid);
    assertThat(
            all.stream()
                .filter(a -> a.path("status").asText().equals("firing"))
                .map(a -> a.path("startsAt").asText())
                .distinct())
        .as("firings: %s", all)
        .hasSize(1);
    JsonNode resolved = all.getLast();
    assertThat(resolved.path("status").asText()).isEqualTo("resolved");
    assertThat(resolved.path("endsAt").asText()).doesNotStartWith("0001");
    System.out.printf(
        "DefaultSettingsLeakPagingIT: paged %d s after the leak started, resolved %d s after the"
            + " sockets were closed%n",
        pagedAfter.toSeconds(), resolvedAfter.toSeconds());
  }
}

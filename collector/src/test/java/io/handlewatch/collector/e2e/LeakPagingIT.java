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
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product's promise end to end, with nothing simulated: a real agent process samples this host;
 * a real child process leaks CLOSE_WAIT sockets (it connects to a loopback server this test runs,
 * which closes its side, and never closes its own); the collector, with a detection window
 * shortened in its configuration, pages a real Alertmanager, which routes to a webhook receiver,
 * and the PagerDuty-shaped webhook notifier pages a second receiver. Each receiver gets exactly one
 * page naming the child's pid and comm and the server's ip:port; once the child closes its sockets
 * and the quiet period passes, exactly one resolution (the webhook's under the same dedup_key).
 */
class LeakPagingIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final Path LEAKER = Path.of("src/test/resources/leak/CloseWaitLeaker.java");
  private static final ObjectMapper JSON = new ObjectMapper();

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
      Thread.sleep(200); // polling a condition with a deadline
    }
  }

  /** Alertmanager's webhook notifications about the alert of {@code pid}, in arrival order. */
  private static List<JsonNode> amPages(HttpReceiver r, long pid) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n = read(q.body());
      if (n.at("/alerts/0/labels/pid").asText().equals(Long.toString(pid))) out.add(n);
    }
    return out;
  }

  /** The webhook notifier's events about the process {@code pid}, in arrival order. */
  private static List<JsonNode> webhookEvents(HttpReceiver r, long pid) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n = read(q.body());
      if (n.at("/payload/custom_details/labels/pid").asText().equals(Long.toString(pid))) {
        out.add(n);
      }
    }
    return out;
  }

  private static JsonNode read(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  private static long count(List<JsonNode> pages, String pointer, String value) {
    return pages.stream().filter(p -> p.at(pointer).asText().equals(value)).count();
  }

  @Test
  void aRealLeakIsPagedOnceWithProcessAndRemoteAndResolvedOnceWhenItStops() throws Exception {
    assertThat(AGENT_JAR).exists();
    HttpReceiver amReceiver = HttpReceiver.start();
    closing.add(amReceiver);
    HttpReceiver pager = HttpReceiver.start();
    closing.add(pager);
    AlertmanagerHarness am = AlertmanagerHarness.prepare(amReceiver.url() + "/").start();
    closing.add(am);

    // Detection shortened for a test: a 2-minute window in 2 s buckets, no history needed before
    // a trend counts, CLOSE_WAIT growth of 15 sockets over 20 s pages, and an alert resolves
    // after 20 quiet seconds. (A real fleet keeps the defaults: see collector/config/.)
    Path config = dir.resolve("collector.yml");
    Files.writeString(
        config,
        """
        ingest: {bindHost: 127.0.0.1, port: 0}
        store: {type: memory}
        detection:
          window: 2m
          resolution: 2s
          minHistory: 0s
          quietPeriod: 20s
          releaseAfter: 10s
          closeWait: {minTrend: 20s, minGrowth: 15, minRatePerMinute: 10}
        notifiers:
          - type: alertmanager
            urls: [%s]
            resendInterval: 2s
          - type: webhook
            url: %s/v2/enqueue
            routingKey: test-routing-key
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
            .formatted(am.url(), pager.url()));
    var app =
        new DropwizardTestSupport<CollectorConfiguration>(
            CollectorApplication.class, config.toString());
    app.before();
    closing.add(app::after);
    int grpc = ((CollectorApplication) app.getApplication()).ingest().port();

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
            "--interval",
            "1s",
            "--host",
            "leak-e2e",
            "--state-dir",
            dir.resolve("agent-state").toString()));

    ServerSocket server = closingServer();
    String remote = "127.0.0.1:" + server.getLocalPort();
    Process leaker =
        start(
            "leaker",
            List.of(
                JAVA,
                "-Xmx32m",
                LEAKER.toAbsolutePath().toString(),
                Integer.toString(server.getLocalPort())));
    long pid = leaker.pid();
    await(
        "the leaker to start",
        60,
        () -> log("leaker").contains("leaking towards"),
        () -> "\nleaker log:\n" + log("leaker"));

    // One page through Alertmanager, one trigger through the webhook, both naming the leak.
    BooleanSupplier paged =
        () -> !amPages(amReceiver, pid).isEmpty() && !webhookEvents(pager, pid).isEmpty();
    await(
        "the page",
        180,
        paged,
        () ->
            "\nagent:\n"
                + log("agent")
                + "\nreceived: "
                + amReceiver.requests()
                + pager.requests());
    JsonNode page = amPages(amReceiver, pid).getFirst();
    assertThat(page.path("status").asText()).isEqualTo("firing");
    JsonNode alert = page.at("/alerts/0");
    assertThat(alert.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(alert.at("/labels/host").asText()).isEqualTo("leak-e2e");
    assertThat(alert.at("/labels/severity").asText()).isEqualTo("critical");
    assertThat(alert.at("/labels/pid").asText()).isEqualTo(Long.toString(pid));
    assertThat(alert.at("/labels/comm").asText()).isEqualTo("java");
    assertThat(alert.at("/labels/remote").asText()).isEqualTo(remote);
    assertThat(alert.at("/annotations/summary").asText())
        .contains("java[" + pid + "]", "CLOSE_WAIT", remote);
    assertThat(alert.at("/annotations/runbook_url").asText()).endsWith("#close_wait");
    assertThat(alert.at("/annotations/since").asText()).isNotEmpty();

    JsonNode trigger = webhookEvents(pager, pid).getFirst();
    assertThat(trigger.path("event_action").asText()).isEqualTo("trigger");
    assertThat(trigger.path("routing_key").asText()).isEqualTo("test-routing-key");
    assertThat(trigger.at("/payload/source").asText()).isEqualTo("leak-e2e");
    assertThat(trigger.at("/payload/severity").asText()).isEqualTo("critical");
    assertThat(trigger.at("/payload/component").asText()).isEqualTo("java[" + pid + "]");
    assertThat(trigger.at("/payload/group").asText()).isEqualTo(remote);
    String dedupKey = trigger.path("dedup_key").asText();
    assertThat(dedupKey).startsWith("leak-e2e/close_wait/java[" + pid + "]");

    // The bug is fixed in place: the child closes its sockets; after the quiet period, resolved.
    OutputStream stdin = leaker.getOutputStream();
    stdin.write("close\n".getBytes(StandardCharsets.UTF_8));
    stdin.flush();
    await("the leaker to close", 30, () -> log("leaker").contains("closed "), () -> log("leaker"));
    BooleanSupplier resolved =
        () ->
            count(amPages(amReceiver, pid), "/status", "resolved") > 0
                && count(webhookEvents(pager, pid), "/event_action", "resolve") > 0;
    await(
        "the resolution",
        120,
        resolved,
        () -> "\nreceived: " + amReceiver.requests() + pager.requests());

    List<JsonNode> pages = amPages(amReceiver, pid);
    assertThat(count(pages, "/status", "firing")).as("firing pages: %s", pages).isEqualTo(1);
    assertThat(count(pages, "/status", "resolved")).as("resolved pages: %s", pages).isEqualTo(1);
    assertThat(pages.getLast().at("/alerts/0/labels/remote").asText()).isEqualTo(remote);
    assertThat(pages.getLast().at("/alerts/0/endsAt").asText()).doesNotStartWith("0001");

    List<JsonNode> events = webhookEvents(pager, pid);
    assertThat(events)
        .as("webhook events: %s", events)
        .extracting(e -> e.path("event_action").asText())
        .containsExactly("trigger", "resolve");
    assertThat(events.getLast().path("dedup_key").asText()).isEqualTo(dedupKey);
  }
}

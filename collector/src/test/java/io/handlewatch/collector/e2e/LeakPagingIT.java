package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.ClosingServer;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
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

  @TempDir Path dir;
  private RealPrograms programs;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  /** The webhook notifier's events about the process {@code pid}, in arrival order. */
  private static List<JsonNode> webhookEvents(HttpReceiver r, long pid) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n = PagingStack.parse(q.body());
      if (n.at("/payload/custom_details/labels/pid").asText().equals(Long.toString(pid))) {
        out.add(n);
      }
    }
    return out;
  }

  private static long count(List<JsonNode> pages, String pointer, String value) {
    return pages.stream().filter(p -> p.at(pointer).asText().equals(value)).count();
  }

  @Test
  void aRealLeakIsPagedOnceWithProcessAndRemoteAndResolvedOnceWhenItStops() throws Exception {
    assertThat(RealPrograms.AGENT_JAR).exists();
    programs = new RealPrograms(dir);
    HttpReceiver pager = HttpReceiver.start();
    closing.add(pager);

    // Detection shortened for a test (a real fleet keeps the defaults: see collector/config/), and
    // a second notifier, PagerDuty-shaped, beside Alertmanager.
    PagingStack stack =
        PagingStack.start(
            dir,
            am ->
                """
                ingest: {bindHost: 127.0.0.1, port: 0}
                store: {type: memory}
                %s
                notifiers:
                  - type: alertmanager
                    urls: [%s]
                    resendInterval: 2s
                  - type: webhook
                    url: %s/v2/enqueue
                    routingKey: test-routing-key
                """
                    .formatted(PagingStack.SHORTENED_DETECTION.strip(), am, pager.url()));
    closing.add(stack);
    HttpReceiver amReceiver = stack.receiver();
    int grpc = stack.grpcPort();

    programs.agentReporting(grpc, "leak-e2e", "--interval", "1s");

    ServerSocket server = ClosingServer.start();
    closing.add(server);
    String remote = "127.0.0.1:" + server.getLocalPort();
    Process leaker = programs.closeWaitLeaker(List.of(), Integer.toString(server.getLocalPort()));
    long pid = leaker.pid();
    RealPrograms.await(
        "the leaker to start",
        Duration.ofSeconds(60),
        () -> programs.log("leaker").contains("leaking towards"),
        () -> "\nleaker log:\n" + programs.log("leaker"));

    // One page through Alertmanager, one trigger through the webhook, both naming the leak.
    BooleanSupplier paged =
        () ->
            !stack.notificationsAbout("pid", Long.toString(pid)).isEmpty()
                && !webhookEvents(pager, pid).isEmpty();
    RealPrograms.await(
        "the page",
        Duration.ofSeconds(180),
        paged,
        () ->
            "\nagent:\n"
                + programs.log("agent")
                + "\nreceived: "
                + amReceiver.requests()
                + pager.requests());
    JsonNode page = stack.notificationsAbout("pid", Long.toString(pid)).getFirst();
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
    RealPrograms.await(
        "the leaker to close",
        Duration.ofSeconds(30),
        () -> programs.log("leaker").contains("closed "),
        () -> programs.log("leaker"));
    BooleanSupplier resolved =
        () ->
            count(stack.notificationsAbout("pid", Long.toString(pid)), "/status", "resolved") > 0
                && count(webhookEvents(pager, pid), "/event_action", "resolve") > 0;
    RealPrograms.await(
        "the resolution",
        Duration.ofSeconds(120),
        resolved,
        () -> "\nreceived: " + amReceiver.requests() + pager.requests());

    List<JsonNode> pages = stack.notificationsAbout("pid", Long.toString(pid));
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

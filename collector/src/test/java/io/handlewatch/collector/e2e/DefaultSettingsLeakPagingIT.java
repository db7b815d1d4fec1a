package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.ClosingServer;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
  private static final String HOST = "leak-defaults";

  @TempDir Path dir;
  private RealPrograms programs;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  @Test
  void aNewProcessLeakingEveryTwoSecondsIsPagedWithinFiveMinutesAndResolvedWithinThree()
      throws Exception {
    assertThat(RealPrograms.AGENT_JAR).exists();
    programs = new RealPrograms(dir);
    PagingStack stack = PagingStack.memory(dir, "", "");
    closing.add(stack);
    int grpc = stack.grpcPort();

    programs.agentReporting(grpc, HOST);
    // The child is born after the collector has the host's first report: its whole life is in
    // view (a process already running when a host's first report arrives has an unknown past and
    // waits detection.minHistory, like every series that was there before the window began).
    RealPrograms.await(
        "the host's first report",
        Duration.ofSeconds(120),
        () -> RealPrograms.getJson(stack.api() + "/v1/hosts/" + HOST) != null,
        () -> "\nagent:\n" + programs.log("agent"));

    ServerSocket server = ClosingServer.start();
    closing.add(server);
    String remote = "127.0.0.1:" + server.getLocalPort();
    Process leaker =
        programs.closeWaitLeaker(List.of(), Integer.toString(server.getLocalPort()), "2000");
    long pid = leaker.pid();
    RealPrograms.await(
        "the leaker to start",
        Duration.ofSeconds(60),
        () -> programs.log("leaker").contains("leaking towards"),
        () -> "\nleaker log:\n" + programs.log("leaker"));
    Instant leakStart = Instant.now();

    RealPrograms.await(
        "the page",
        Duration.ofSeconds(300),
        () ->
            stack.alertsAbout("host", HOST).stream()
                .anyMatch(a -> a.path("status").asText().equals("firing")),
        () -> "\nagent:\n" + programs.log("agent") + "\nreceived: " + stack.receiver().requests());
    Duration pagedAfter = Duration.between(leakStart, Instant.now());
    JsonNode page = stack.alertsAbout("host", HOST).getFirst();
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
    RealPrograms.await(
        "the leaker to close",
        Duration.ofSeconds(30),
        () -> programs.log("leaker").contains("closed "),
        () -> programs.log("leaker"));
    Instant closed = Instant.now();
    RealPrograms.await(
        "the resolution",
        Duration.ofSeconds(180),
        () ->
            stack.alertsAbout("host", HOST).stream()
                .anyMatch(a -> a.path("status").asText().equals("resolved")),
        () -> "\nreceived: " + stack.receiver().requests());
    Duration resolvedAfter = Duration.between(closed, Instant.now());
    assertThat(resolvedAfter).as("resolved after").isLessThanOrEqualTo(Duration.ofMinutes(3));

    // One page, one resolution: nothing else about this host (no host-wide or port page).
    List<JsonNode> all = stack.alertsAbout("host", HOST);
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

package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.testing.ClosingServer;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A collector restarts while a leak's page fires, and after the restart InfluxDB answers the host's
 * history read only after the alert's endsAt: Alertmanager must never show the alert resolved, and
 * the pager gets exactly one notification. Real programs: a real agent at 1 s, a real process
 * leaking CLOSE_WAIT sockets, a real influxd (behind a loopback proxy that holds the restarted
 * collector's history read), a real Alertmanager. Detection is the default (no {@code detection:}
 * section); only the notifier's {@code resendInterval} is 2 s (a delivery interval, so endsAt is 8
 * s ahead and the hold is seconds, not minutes). The read is held past the warm-up timeout (30 s)
 * too, so the host starts cold and its history is merged late, as in front of a fleet.
 */
class RestartPagingIT {
  private static final String HOST = "restart-paging-e2e";

  @TempDir Path dir;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  @Test
  void anIncidentOpenBeforeARestartStaysOnePageWhenTheHistoryReadAnswersAfterItsEndsAt()
      throws Exception {
    assertThat(RealPrograms.AGENT_JAR).exists();
    InfluxdHarness influxd = InfluxdHarness.start();
    closing.add(influxd);
    LateWarmUpPagingIT.HeldReads proxy = LateWarmUpPagingIT.HeldReads.start(influxd.url());
    closing.add(proxy);
    int grpc = RealPrograms.freePort();
    Function<String, Function<String, String>> config =
        store ->
            am ->
                """
                ingest: {bindHost: 127.0.0.1, port: %d}
                store:
                  type: influxdb
                  url: "%s"
                  database: restartpaging
                  flushInterval: 20ms
                  requestTimeout: 5m
                notifiers:
                  - type: alertmanager
                    urls: [%s]
                    resendInterval: 2s
                """
                    .formatted(grpc, store, am);
    PagingStack stack = PagingStack.start(dir, config.apply(influxd.url()));
    closing.add(stack);

    RealPrograms programs = new RealPrograms(dir);
    closing.add(programs);
    programs.agentReporting(grpc, HOST, "--interval", "1s");
    // Born after the host's first report: its whole life in view, judged without minHistory.
    RealPrograms.await(
        "the host's first report",
        Duration.ofSeconds(60),
        () -> stack.collector().detector().view().host(HOST).isPresent(),
        () -> "\nagent:\n" + programs.log("agent"));
    ServerSocket server = ClosingServer.start();
    closing.add(server);
    Process leaker =
        programs.closeWaitLeaker(List.of(), Integer.toString(server.getLocalPort()), "500");
    String pid = Long.toString(leaker.pid());
    List<Alert> before = new CopyOnWriteArrayList<>();
    stack.collector().detector().addAlertListener(before::add);
    RealPrograms.await(
        "the page before the restart",
        Duration.ofSeconds(300),
        () -> !stack.notificationsAbout("pid", pid).isEmpty(),
        () -> "\nleaker:\n" + programs.log("leaker") + "\nagent:\n" + programs.log("agent"));
    Alert paged = before.getFirst();
    assertThat(paged.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(paged.labels()).containsEntry("pid", pid);

    // The restart: the new collector reads the store through the proxy, which holds the read.
    stack.stopCollector();
    Instant endsAt = Instant.parse(alertmanagerAlert(stack, pid).path("endsAt").asText());
    stack.startCollector(config.apply(proxy.url()));
    List<Alert> after = new CopyOnWriteArrayList<>();
    stack.collector().detector().addAlertListener(after::add);
    RealPrograms.await(
        "the host cold past its warm-up timeout, its read held, and the old endsAt passed",
        Duration.ofSeconds(120),
        () ->
            counter(stack, "detect.warmup.cold") == 1
                && proxy.held.get() > 0
                && Instant.now().isAfter(endsAt.plusSeconds(2)),
        () -> "\nagent:\n" + programs.log("agent"));
    assertThat(alertmanagerAlert(stack, pid)).as("still firing past its endsAt").isNotNull();
    assertThat(after).as("nothing decided while the read is held").isEmpty();

    proxy.letGo.countDown();
    RealPrograms.await(
        "the late merge and the incident taken over",
        Duration.ofSeconds(60),
        () -> counter(stack, "detect.warmup.late") == 1 && !after.isEmpty(),
        () -> "\nmetrics: " + RealPrograms.metrics(stack.adminPort()).path("counters"));
    assertThat(after)
        .extracting(Alert::status, Alert::labels, Alert::startsAt)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                Alert.Status.FIRING, paged.labels(), paged.startsAt()));
    Thread.sleep(
        3000); // six of Alertmanager's group intervals, for a notification that must not come

    List<JsonNode> pages = stack.notificationsAbout("pid", pid);
    assertThat(PagingStack.count(pages, "resolved")).as("pages: %s", pages).isZero();
    assertThat(PagingStack.count(pages, "firing")).as("pages: %s", pages).isEqualTo(1);
    assertThat(Instant.parse(alertmanagerAlert(stack, pid).path("startsAt").asText()))
        .isEqualTo(paged.startsAt());
  }

  private static long counter(PagingStack stack, String name) {
    JsonNode m = RealPrograms.metrics(stack.adminPort());
    return m == null ? -1 : m.at("/counters/" + name + "/count").asLong(-1);
  }

  /** The alert with {@code pid} as Alertmanager shows it active now, or null. */
  private static JsonNode alertmanagerAlert(PagingStack stack, String pid) {
    JsonNode all = RealPrograms.getJson(stack.alertmanager().url() + "/api/v2/alerts");
    for (JsonNode a : all) if (a.at("/labels/pid").asText().equals(pid)) return a;
    return null;
  }
}

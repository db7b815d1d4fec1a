package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.DropwizardTestSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.CloseWaitLeak;
import io.handlewatch.collector.testing.HaproxyHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.InfluxdHarness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out, end to end, all real: two collectors on one influxd behind one address (haproxy in TCP
 * mode), both paging a two-member Alertmanager cluster that sends to one webhook receiver. The
 * agent jar on this machine streams through the balancer to collector A while a child process leaks
 * CLOSE_WAIT sockets for real. Once A has paged, the balancer drains A (A stays up) and the agent
 * lands on B mid-leak. B warms the host's window from InfluxDB and takes the incident over; A lets
 * go of it without resolving; the leak goes on, then is fixed, and B resolves. The receiver gets
 * exactly one firing and one resolved notification: one page.
 *
 * <p>The windows are short (2 min, 1 s buckets, 30 s of history before a trend may page) and the
 * collectors re-send every 3 s, so an alert nobody re-sends ends 12 s after its last send: the
 * whole run takes about a minute and a half. {@link #withoutWarmUpTheMoveCostsASecondPage} is the
 * negative control (run with {@code -Dscaleout.negativeControl=true}).
 */
class ScaleOutIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HOST = "scaleout-" + Long.toString(System.nanoTime(), 36);

  @TempDir Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final List<DropwizardTestSupport<CollectorConfiguration>> collectors = new ArrayList<>();
  private Process agent;
  private volatile boolean leaking;

  @AfterEach
  void cleanUp() throws Exception {
    leaking = false;
    if (agent != null) {
      agent.destroyForcibly();
      agent.waitFor(10, TimeUnit.SECONDS);
    }
    for (var c : collectors) c.after();
    for (AutoCloseable c : open.reversed()) c.close();
  }

  /** What the receiver got for the leak's alert, and what each collector did with it. */
  record Outcome(
      List<JsonNode> firing,
      List<JsonNode> resolved,
      Alert pagedByA,
      Alert sentByB,
      long resolvedByA,
      long releasedByA,
      long takenOverByB,
      String logs) {
    /** Each notification: status, the member that sent it, the alert's startsAt and endsAt. */
    String summary() {
      List<JsonNode> all = new ArrayList<>(firing);
      all.addAll(resolved);
      all.sort(
          java.util.Comparator.comparing(n -> alertOf(n).orElseThrow().path("endsAt").asText()));
      StringBuilder sb = new StringBuilder();
      for (JsonNode n : all) {
        JsonNode a = alertOf(n).orElseThrow();
        sb.append(
            "  %s from %s startsAt=%s endsAt=%s%n"
                .formatted(
                    n.path("status").asText(),
                    n.path("externalURL").asText(),
                    a.path("startsAt").asText(),
                    a.path("endsAt").asText()));
      }
      return sb.toString();
    }
  }

  @Test
  void anAgentMovedBetweenCollectorsMidLeakPagesExactlyOnce() throws Exception {
    Outcome o = run(true);
    assertThat(o.firing()).as("firing notifications\n%s", o.logs()).hasSize(1);
    assertThat(o.resolved()).as("resolved notifications\n%s", o.logs()).hasSize(1);
    assertThat(o.takenOverByB()).as("incidents B took over").isEqualTo(1);
    assertThat(o.sentByB().labels()).isEqualTo(o.pagedByA().labels());
    assertThat(o.sentByB().startsAt()).isEqualTo(o.pagedByA().startsAt());
    assertThat(o.releasedByA()).as("A let go of the host").isEqualTo(1);
    assertThat(o.resolvedByA()).as("A never resolved what B kept firing").isZero();
    JsonNode end = alertOf(o.resolved().getFirst()).orElseThrow();
    assertThat(java.time.Instant.parse(end.path("startsAt").asText()))
        .isEqualTo(o.pagedByA().startsAt());
  }

  @Test
  @EnabledIfSystemProperty(named = "scaleout.negativeControl", matches = "true")
  void withoutWarmUpTheMoveCostsASecondPage() throws Exception {
    Outcome o = run(false);
    System.out.printf(
        "negative control: %d firing and %d resolved notifications; A paged at %s, B sent %s%n%s",
        o.firing().size(),
        o.resolved().size(),
        o.pagedByA().startsAt(),
        o.sentByB().startsAt(),
        o.summary());
    assertThat(o.takenOverByB()).isZero();
    assertThat(o.firing().size()).as("firing notifications\n%s", o.logs()).isGreaterThan(1);
  }

  private Outcome run(boolean warmUp) throws Exception {
    HttpReceiver pager = HttpReceiver.start();
    open.add(pager);
    List<AlertmanagerHarness> ams = AlertmanagerHarness.prepareCluster(2, pager.url() + "/");
    open.addAll(ams);
    for (AlertmanagerHarness am : ams) am.start();
    for (AlertmanagerHarness am : ams) am.awaitPeers(2);
    InfluxdHarness influxd = InfluxdHarness.start();
    open.add(influxd);

    Path config = dir.resolve("collector.yml");
    Files.writeString(config, config(influxd.url(), ams, warmUp));
    Collector a = collector(config);
    Collector b = collector(config);
    HaproxyHarness lb = HaproxyHarness.start(List.of(a.ingestPort(), b.ingestPort()));
    open.add(lb);
    CloseWaitLeak leak = CloseWaitLeak.start();
    open.add(leak);
    String pid = Long.toString(leak.pid());

    agent = startAgent(lb.target());
    leaking = true;
    Thread.ofPlatform()
        .daemon()
        .name("leak")
        .start(
            () -> {
              try {
                while (leaking) {
                  leak.leak(3);
                  Thread.sleep(1000); // the leak's pace: 3 sockets a second
                }
              } catch (IOException | InterruptedException e) {
                leaking = false;
              }
            });

    // 1. A pages.
    await("A pages", 120, () -> !notifications(pager, pid, "firing").isEmpty(), pager, lb);
    Alert pagedByA = activeOn(a, pid).orElseThrow();
    assertThat(activeOn(b, pid)).as("B has not seen the host yet").isEmpty();

    // 2. The balancer drains A; the agent lands on B mid-leak; A lets the host go.
    lb.disable(0);
    await(
        "B sends the leak's alert and A lets go",
        120,
        () -> activeOn(b, pid).isPresent() && counter(a, "detect.transitions.released") >= 1,
        pager,
        lb);
    Alert sentByB = activeOn(b, pid).orElseThrow();

    // 3. The leak is fixed; B resolves once the quiet period has passed.
    leaking = false;
    leak.fix();
    await(
        "B resolves",
        120,
        () -> activeOn(b, pid).isEmpty() && !notifications(pager, pid, "resolved").isEmpty(),
        pager,
        lb);
    // Nothing may follow: a second member's copy would come after its 1 s peer timeout and the
    // 3 s group interval, a re-send of a stale alert within one 3 s re-send interval. Absence can
    // only be waited out.
    Thread.sleep(8_000);

    return new Outcome(
        notifications(pager, pid, "firing"),
        notifications(pager, pid, "resolved"),
        pagedByA,
        sentByB,
        counter(a, "detect.transitions.resolved"),
        counter(a, "detect.transitions.released"),
        counter(b, "detect.warmup.incidents"),
        logs(pager, lb));
  }

  private static String config(String influx, List<AlertmanagerHarness> ams, boolean warmUp) {
    return """
        ingest: {bindHost: 127.0.0.1, port: 0}
        store: {type: influxdb, url: %s, database: scaleout, createDatabase: true, flushInterval: 20ms}
        detection:
          window: 2m
          resolution: 1s
          minHistory: 30s
          quietPeriod: 20s
          releaseAfter: 8s
          closeWait: {minTrend: 10s, minGrowth: 20, minRatePerMinute: 2}
          warmUp: {enabled: %s}
        notifiers:
          - type: alertmanager
            urls: [%s, %s]
            resendInterval: 3s
        server:
          applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          adminConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
          requestLog: {appenders: []}
        logging: {level: WARN, loggers: {io.handlewatch: INFO}}
        """
        .formatted(influx, warmUp, ams.get(0).url(), ams.get(1).url());
  }

  /** One collector, in this JVM, and its metrics. */
  private record Collector(CollectorApplication app, MetricRegistry metrics) {
    int ingestPort() {
      return app.ingest().port();
    }
  }

  private Collector collector(Path config) throws Exception {
    var support =
        new DropwizardTestSupport<CollectorConfiguration>(
            CollectorApplication.class, config.toString());
    support.before();
    collectors.add(support);
    return new Collector(
        (CollectorApplication) support.getApplication(), support.getEnvironment().metrics());
  }

  private Process startAgent(String target) throws IOException {
    return new ProcessBuilder(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            AGENT_JAR.toString(),
            "run",
            "--collector",
            target,
            "--interval",
            "1s",
            "--host",
            HOST,
            "--state-dir",
            dir.resolve("agent-state").toString())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
        .start();
  }

  /** The leak's alert as a collector's detector has it firing. */
  private static Optional<Alert> activeOn(Collector c, String pid) {
    return c.app().detector().view().activeAlerts(HOST).stream()
        .filter(a -> a.labels().get("alertname").equals("CloseWaitGrowing"))
        .filter(a -> pid.equals(a.labels().get("pid")))
        .findFirst();
  }

  private static long counter(Collector c, String name) {
    return c.metrics().counter(name).getCount();
  }

  /** The receiver's notifications of {@code status} about the leak's alert. */
  private static List<JsonNode> notifications(HttpReceiver pager, String pid, String status) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request r : pager.requests()) {
      try {
        JsonNode n = JSON.readTree(r.body());
        if (n.path("status").asText().equals(status) && alertOf(n, pid).isPresent()) out.add(n);
      } catch (IOException e) {
        throw new AssertionError("not a webhook notification: " + r.body(), e);
      }
    }
    return out;
  }

  private static Optional<JsonNode> alertOf(JsonNode notification) {
    for (JsonNode a : notification.path("alerts")) {
      if (a.path("labels").path("host").asText().equals(HOST)) return Optional.of(a);
    }
    return Optional.empty();
  }

  private static Optional<JsonNode> alertOf(JsonNode notification, String pid) {
    return alertOf(notification)
        .filter(a -> a.path("labels").path("alertname").asText().equals("CloseWaitGrowing"))
        .filter(a -> a.path("labels").path("pid").asText().equals(pid));
  }

  private String logs(HttpReceiver pager, HaproxyHarness lb) {
    StringBuilder sb = new StringBuilder("webhook notifications:\n");
    for (HttpReceiver.Request r : pager.requests()) sb.append(r.body()).append('\n');
    try {
      sb.append("agent log:\n").append(Files.readString(dir.resolve("agent.log")));
      sb.append("haproxy log:\n").append(lb.log());
    } catch (IOException e) {
      sb.append("(logs unreadable: ").append(e).append(")");
    }
    return sb.toString();
  }

  private void await(
      String what, int seconds, BooleanSupplier ok, HttpReceiver pager, HaproxyHarness lb)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ok.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what + "\n" + logs(pager, lb));
      }
      Thread.sleep(200); // polling a condition with a deadline
    }
  }
}

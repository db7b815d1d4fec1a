package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.DropwizardTestSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * A SYN queue full for real, end to end: a listener (backlog 8) in a network namespace the test
 * makes ({@code hw13-}), whose iptables drops every final ACK towards it, connects to itself every
 * 0.2 s. Its request sockets sit in SYN_RECV at the queue's cap and every later SYN is answered
 * with a syncookie. The real agent counts them from its socket dump inside the namespace; the
 * collector pages a real Alertmanager once, as a warning (cookies, no drops), naming comm[pid] and
 * the address; the host view shows the SYN queue against its cap; when the listener ends, one
 * resolution. The namespace's own conntrack table (turned on by a conntrack rule there) shows in
 * the host view against the global nf_conntrack_max.
 */
class SynQueuePagingIT {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Path AGENT_JAR = Path.of("../agent/target/handlewatch-agent.jar");
  private static final Path LISTENER = Path.of("src/test/resources/leak/syn_flood_listener.py");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int PORT = 7000;
  private static final String HOST = "syn-e2e";

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String netns;

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) c.close();
    if (netns != null) run("ip", "netns", "del", netns);
  }

  @Test
  void aSynQueueHeldFullPagesOnceNamingItsListenerAndResolvesWhenItEnds() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root: netns, iptables");
    assertThat(AGENT_JAR).exists();
    netns = "hw13-" + ProcessHandle.current().pid() + "-synpage";
    run("ip", "netns", "add", netns);
    run("ip", "-n", netns, "link", "set", "lo", "up");
    // Final ACKs (ACK alone among SYN, ACK, FIN, RST) towards the listener never arrive.
    run(
        "ip",
        "netns",
        "exec",
        netns,
        "iptables",
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "--dport",
        Integer.toString(PORT),
        "--tcp-flags",
        "SYN,ACK,FIN,RST",
        "ACK",
        "-j",
        "DROP");
    // A rule that needs connection tracking turns it on in the namespace: each connect is a flow
    // in the namespace's own table (conntrack sees the dropped ACK before the filter does).
    run(
        "ip",
        "netns",
        "exec",
        netns,
        "iptables",
        "-A",
        "INPUT",
        "-m",
        "conntrack",
        "--ctstate",
        "NEW,ESTABLISHED,RELATED",
        "-j",
        "ACCEPT");

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
        detection:
          window: 2m
          resolution: 2s
          minHistory: 0s
          quietPeriod: 20s
          releaseAfter: 10s
        notifiers:
          - type: alertmanager
            urls: [%s]
            resendInterval: 2s
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
    int grpc = ((CollectorApplication) app.getApplication()).ingest().port();
    String api = "http://127.0.0.1:" + app.getLocalPort() + "/api";

    Process listener =
        start(
            "listener",
            List.of(
                "ip",
                "netns",
                "exec",
                netns,
                "python3",
                LISTENER.toAbsolutePath().toString(),
                Integer.toString(PORT)));
    await("the listener", 30, () -> log("listener").contains("listening"), () -> log("listener"));
    long pid = listener.pid(); // ip netns exec execs python: the same process
    String comm = Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
    String local = "127.0.0.1:" + PORT;
    String subject = comm + "[" + pid + "] " + local;

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
            HOST,
            "--state-dir",
            dir.resolve("agent-state").toString()));
    // The collector has the host's tables before the first SYN (the listener itself is sent once
    // it is among the host's fullest, which an idle one on a busy machine need not be).
    await(
        "the host's tables",
        90,
        () -> table(api, "orphans", HOST) != null,
        () -> "\nagent:\n" + log("agent"));
    assertThat(table(api, "syn_queue", subject)).as("no request yet").isNull();

    OutputStream stdin = listener.getOutputStream();
    stdin.write("go\n".getBytes(StandardCharsets.UTF_8));
    stdin.flush();
    await(
        "the page",
        60,
        () -> !pages(amReceiver, "firing").isEmpty(),
        () -> "\nagent:\n" + log("agent") + "\nreceived: " + amReceiver.requests());
    JsonNode alert = pages(amReceiver, "firing").getFirst().at("/alerts/0");
    assertThat(alert.at("/labels/severity").asText())
        .as("syncookies answered: clients still connect")
        .isEqualTo("warning");
    assertThat(alert.at("/labels/host").asText()).isEqualTo(HOST);
    assertThat(alert.at("/labels/pid").asText()).isEqualTo(Long.toString(pid));
    assertThat(alert.at("/labels/comm").asText()).isEqualTo(comm);
    assertThat(alert.at("/labels/listen").asText()).isEqualTo(local);
    assertThat(alert.at("/annotations/summary").asText())
        .matches(
            HOST
                + ": "
                + java.util.regex.Pattern.quote(subject)
                + " SYN queue (8|9)/8 full, [0-9.,]+ SYNs answered with syncookies/min since \\S+Z");
    assertThat(alert.at("/annotations/runbook_url").asText()).endsWith("#syn_queue");

    JsonNode syn = table(api, "syn_queue", subject);
    assertThat(syn).as("the SYN queue in the host view").isNotNull();
    assertThat(syn.path("used").asDouble()).isBetween(8.0, 9.0);
    assertThat(syn.path("limit").asDouble()).isEqualTo(8);

    // The namespace's own conntrack table, held to the host's global nf_conntrack_max.
    JsonNode ct = table(api, "conntrack", "netns " + netns);
    assertThat(ct).as("the namespace's conntrack in the host view").isNotNull();
    assertThat(ct.path("used").asDouble()).as("a flow per connect").isGreaterThanOrEqualTo(9);
    // Not Files.readString: it trusts a sysctl file's reported size and can return one byte.
    try (var in = Files.newInputStream(Path.of("/proc/sys/net/netfilter/nf_conntrack_max"))) {
      String max = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
      assertThat(ct.path("limit").asDouble()).isEqualTo(Double.parseDouble(max));
    }

    stdin.close(); // the listener ends, and its request sockets with it
    await(
        "the resolution",
        90,
        () -> !pages(amReceiver, "resolved").isEmpty(),
        () -> "\nreceived: " + amReceiver.requests());
    assertThat(
            pages(amReceiver, "firing").stream()
                .map(p -> p.at("/alerts/0/labels").toString())
                .distinct())
        .as("one incident")
        .hasSize(1);
    assertThat(pages(amReceiver, "resolved")).hasSize(1);
  }

  /** The host view's row of {@code table} for {@code subject}, or null. */
  private static JsonNode table(String api, String table, String subject) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(api + "/v1/hosts/" + HOST)).build(),
                  HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) return null;
      for (JsonNode t : JSON.readTree(r.body()).path("tables")) {
        if (t.path("table").asText().equals(table) && t.path("subject").asText().equals(subject)) {
          return t;
        }
      }
      return null;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
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

  /** Notifications about this test's SynQueueOverflowing alert with {@code status}. */
  private static List<JsonNode> pages(HttpReceiver r, String status) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : r.requests()) {
      JsonNode n;
      try {
        n = JSON.readTree(q.body());
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + q.body(), e);
      }
      if (n.at("/alerts/0/labels/alertname").asText().equals("SynQueueOverflowing")
          && n.path("status").asText().equals(status)) {
        out.add(n);
      }
    }
    return out;
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}

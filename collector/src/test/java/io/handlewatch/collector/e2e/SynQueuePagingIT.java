package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.NetworkNamespace;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
  private static final Path LISTENER = Path.of("src/test/resources/leak/syn_flood_listener.py");
  private static final int PORT = 7000;
  private static final String HOST = "syn-e2e";

  @TempDir Path dir;
  private RealPrograms programs;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private String netns;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    for (AutoCloseable c : closing.reversed()) c.close();
    if (netns != null) NetworkNamespace.run("ip", "netns", "del", netns);
  }

  @Test
  void aSynQueueHeldFullPagesOnceNamingItsListenerAndResolvesWhenItEnds() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root: netns, iptables");
    assertThat(RealPrograms.AGENT_JAR).exists();
    netns = "hw13-" + ProcessHandle.current().pid() + "-synpage";
    NetworkNamespace.run("ip", "netns", "add", netns);
    NetworkNamespace.run("ip", "-n", netns, "link", "set", "lo", "up");
    // Final ACKs (ACK alone among SYN, ACK, FIN, RST) towards the listener never arrive.
    NetworkNamespace.run(
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
    NetworkNamespace.run(
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

    programs = new RealPrograms(dir);
    PagingStack stack =
        PagingStack.memory(dir, PagingStack.SHORTENED_DETECTION, "resendInterval: 2s");
    closing.add(stack);
    int grpc = stack.grpcPort();
    String api = stack.api();

    Process listener =
        programs.start(
            "listener",
            List.of(
                "ip",
                "netns",
                "exec",
                netns,
                "python3",
                LISTENER.toAbsolutePath().toString(),
                Integer.toString(PORT)));
    RealPrograms.await(
        "the listener",
        Duration.ofSeconds(30),
        () -> programs.log("listener").contains("listening"),
        () -> programs.log("listener"));
    long pid = listener.pid(); // ip netns exec execs python: the same process
    String comm = Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
    String local = "127.0.0.1:" + PORT;
    String subject = comm + "[" + pid + "] " + local;

    programs.agentReporting(grpc, HOST, "--interval", "1s");
    // The collector has the host's tables before the first SYN (the listener itself is sent once
    // it is among the host's fullest, which an idle one on a busy machine need not be).
    RealPrograms.await(
        "the host's tables",
        Duration.ofSeconds(90),
        () -> table(api, "orphans", HOST) != null,
        () -> "\nagent:\n" + programs.log("agent"));
    assertThat(table(api, "syn_queue", subject)).as("no request yet").isNull();

    OutputStream stdin = listener.getOutputStream();
    stdin.write("go\n".getBytes(StandardCharsets.UTF_8));
    stdin.flush();
    RealPrograms.await(
        "the page",
        Duration.ofSeconds(60),
        () -> !pages(stack, "firing").isEmpty(),
        () -> "\nagent:\n" + programs.log("agent") + "\nreceived: " + stack.receiver().requests());
    JsonNode alert = pages(stack, "firing").getFirst().at("/alerts/0");
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
    RealPrograms.await(
        "the resolution",
        Duration.ofSeconds(90),
        () -> !pages(stack, "resolved").isEmpty(),
        () -> "\nreceived: " + stack.receiver().requests());
    assertThat(
            pages(stack, "firing").stream()
                .map(p -> p.at("/alerts/0/labels").toString())
                .distinct())
        .as("one incident")
        .hasSize(1);
    assertThat(pages(stack, "resolved")).hasSize(1);
  }

  /** The host view's row of {@code table} for {@code subject}, or null. */
  private static JsonNode table(String api, String table, String subject) {
    JsonNode host = RealPrograms.getJson(api + "/v1/hosts/" + HOST);
    if (host == null) return null;
    for (JsonNode t : host.path("tables")) {
      if (t.path("table").asText().equals(table) && t.path("subject").asText().equals(subject)) {
        return t;
      }
    }
    return null;
  }

  /** Notifications about this test's SynQueueOverflowing alert with {@code status}. */
  private static List<JsonNode> pages(PagingStack stack, String status) {
    return stack.notificationsAbout("alertname", "SynQueueOverflowing").stream()
        .filter(n -> n.path("status").asText().equals(status))
        .toList();
  }
}

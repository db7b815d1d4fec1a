package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ListenQueues;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.TcpCounters;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A saturated accept queue on the real kernel pages once through a real Alertmanager, naming its
 * process and address. The test holds a listener with backlog 8 that never calls accept() and makes
 * a bounded burst of connects to it on loopback; each sample reads the queue and backlog as {@code
 * ss -ltn} shows them and ListenOverflows from /proc/net/netstat, with this JVM's pid and comm as
 * the owner, and streams the report to a real collector. Until the agent reads listeners itself,
 * the test is its sampler: the samples are stamped 10 s apart, ending now, though they are read as
 * fast as the kernel's counters move.
 */
class AcceptQueuePagingIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String HOST = "hw13b-accept";
  private static final int SAMPLES = 8;

  @Test
  void aListenerThatNeverAcceptsPagesOnceNamingItsProcessAndPort(@TempDir Path dir)
      throws Exception {
    List<SocketChannel> clients = new ArrayList<>();
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress("127.0.0.1", 0), 8); // and never accept()
      int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
      String local = "127.0.0.1:" + port;
      long pid = ProcessHandle.current().pid();
      String comm = Files.readString(Path.of("/proc/self/comm")).strip();

      try (PagingStack stack = PagingStack.memory(dir, "", "")) {
        HttpReceiver pager = stack.receiver();
        int ingest = stack.collector().ingest().port();
        String api = "http://127.0.0.1:" + stack.httpPort() + "/api/v1";
        Instant end = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        long overflowsBefore = listenOverflows();
        for (int i = 0; i < SAMPLES; i++) {
          if (i >= 2) {
            // A burst: the first fills the queue (backlog 8 holds 9), each connect beyond it is a
            // SYN the listener drops, counted in ListenOverflows.
            long before = listenOverflows();
            for (int k = 0; k < (i == 2 ? 12 : 3); k++) {
              SocketChannel c = SocketChannel.open();
              c.configureBlocking(false);
              c.connect(new InetSocketAddress("127.0.0.1", port));
              clients.add(c);
            }
            await("the kernel counts the dropped connects")
                .atMost(Duration.ofSeconds(20))
                .until(() -> listenOverflows() > before && ss(port)[0] >= 8);
          }
          long[] q = ss(port);
          HostReport r = TestReports.report(HOST, i + 1, end.minusSeconds(10L * (SAMPLES - 1 - i)));
          var s = r.getSample().toBuilder();
          s.setListenQueues(
              ListenQueues.newBuilder()
                  .setListenersTotal(1)
                  .addListeners(
                      Listener.newBuilder()
                          .setLocal(local)
                          .setQueue(q[0])
                          .setBacklog(q[1])
                          .setPid((int) pid)
                          .setComm(comm)));
          s.setTcpCounters(
              TcpCounters.newBuilder()
                  .setListenOverflows(listenOverflows())
                  .setListenDrops(netstat("ListenDrops")));
          IngestClient.stream(ingest, List.of(r.toBuilder().setSample(s).build()));
        }
        assertThat(listenOverflows()).isGreaterThan(overflowsBefore);
        assertThat(ss(port)).as("queue, backlog as ss -ltn shows them").containsExactly(9, 8);

        JsonNode page =
            await("the accept-queue page through Alertmanager")
                .atMost(Duration.ofSeconds(60))
                .until(() -> firing(pager).stream().findFirst().orElse(null), p -> p != null);
        assertThat(page.path("labels").path("severity").asText()).isEqualTo("critical");
        assertThat(page.path("labels").path("pid").asText()).isEqualTo(Long.toString(pid));
        assertThat(page.path("labels").path("comm").asText()).isEqualTo(comm);
        assertThat(page.path("labels").path("listen").asText()).isEqualTo(local);
        assertThat(page.path("annotations").path("summary").asText())
            .matches(
                HOST
                    + ": "
                    + java.util.regex.Pattern.quote(comm + "[" + pid + "] " + local)
                    + " accept queue 9/8 full, [0-9.,]+ overflows/min since \\S+Z");
        assertThat(page.path("annotations").path("runbook_url").asText())
            .endsWith("/runbook#accept_queue");

        // The host view shows the queue against its backlog, judged critical.
        JsonNode host = get(api + "/hosts/" + HOST);
        JsonNode table = null;
        for (JsonNode t : host.path("tables")) {
          if (t.path("table").asText().equals("accept_queue")) table = t;
        }
        assertThat(table).as("accept_queue in %s", host.path("tables")).isNotNull();
        assertThat(table.path("subject").asText()).isEqualTo(comm + "[" + pid + "] " + local);
        assertThat(table.path("used").asDouble()).isEqualTo(9);
        assertThat(table.path("limit").asDouble()).isEqualTo(8);
        assertThat(table.path("severity").asText()).isEqualTo("critical");

        // Once: the collector keeps one incident for it, and the pager got one alert.
        JsonNode alerts = get(api + "/alerts");
        int mine = 0;
        for (JsonNode a : alerts.path("alerts")) {
          if (a.path("labels").path("alertname").asText().equals("AcceptQueueOverflowing")) mine++;
        }
        assertThat(mine).as("incidents in %s", alerts).isEqualTo(1);
        Set<JsonNode> distinct = new HashSet<>();
        for (JsonNode a : firing(pager)) distinct.add(a.path("labels"));
        assertThat(distinct).hasSize(1);
      }
    } finally {
      for (SocketChannel c : clients) c.close();
    }
  }

  /** {queue, backlog} of the listener on {@code port}: Recv-Q and Send-Q of {@code ss -ltnH}. */
  private static long[] ss(int port) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("ss", "-ltnH", "sport = :" + port).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor()).as(out).isZero();
    String[] f = out.split("\\s+");
    assertThat(f[0]).as(out).isEqualTo("LISTEN");
    return new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])};
  }

  private static long listenOverflows() throws IOException {
    return netstat("ListenOverflows");
  }

  /** A TcpExt counter of /proc/net/netstat (header line, then the values line). */
  private static long netstat(String name) throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
    for (int i = 0; i + 1 < lines.size(); i += 2) {
      String[] head = lines.get(i).split("\\s+");
      String[] vals = lines.get(i + 1).split("\\s+");
      if (!head[0].equals("TcpExt:")) continue;
      for (int k = 1; k < head.length; k++) {
        if (head[k].equals(name)) return Long.parseLong(vals[k]);
      }
    }
    throw new AssertionError("no TcpExt " + name + " in /proc/net/netstat");
  }

  private static List<JsonNode> firing(HttpReceiver pager) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request r : pager.requests()) {
      for (JsonNode a : JSON.readTree(r.body()).path("alerts")) {
        if (a.path("status").asText().equals("firing")
            && a.path("labels").path("host").asText().equals(HOST)
            && a.path("labels").path("alertname").asText().equals("AcceptQueueOverflowing")) {
          out.add(a);
        }
      }
    }
    return out;
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }
}

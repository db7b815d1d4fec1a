package io.handlewatch.collector.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Prometheus Alertmanager (Debian's {@code prometheus-alertmanager}) for tests: free
 * loopback port, gossip off ({@code --cluster.listen-address=}), its own temp storage, and a route
 * that sends every alert group, resolved ones included, to one webhook URL. Group timings are short
 * (group_wait 200ms, group_interval 500ms) and repeat_interval is long (1h), so each incident makes
 * exactly one firing and one resolved notification. Ports and files are chosen by {@link #prepare};
 * {@link #start} may come later ("Alertmanager down, then up" tests). {@link #close} kills it and
 * deletes its files.
 *
 * <p>{@link #prepareCluster} makes several, peered in one gossip cluster on loopback as in
 * production (each told of the others with {@code --cluster.peer}), with gossip and state sync sped
 * up so the cluster settles in seconds, and {@code --cluster.peer-timeout} 1s: the member first in
 * the cluster's order notifies, the next waits 1 s and notifies only if the gossiped notification
 * log does not show it done. That is what dedups a page sent to every member. Their group_interval
 * is 3s, longer than the peer timeout, as in production (5m and 15s): the next member judges each
 * flush of a group after waiting, against the newest log, so with a peer timeout longer than the
 * group interval it always holds a stale flush and sends it when the state changes (measured with
 * 500ms and 2s: every firing and every resolved notification came twice).
 */
public final class AlertmanagerHarness implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String binary;
  private final Path dir;
  private final int port;
  private List<String> clusterArgs = List.of("--cluster.listen-address=");
  private Process process;

  private AlertmanagerHarness(String binary, Path dir, int port) {
    this.binary = binary;
    this.dir = dir;
    this.port = port;
  }

  /** Writes the configuration routing everything to {@code webhookUrl}; does not start. */
  public static AlertmanagerHarness prepare(String webhookUrl)
      throws IOException, InterruptedException {
    return prepare(webhookUrl, "500ms");
  }

  private static AlertmanagerHarness prepare(String webhookUrl, String groupInterval)
      throws IOException, InterruptedException {
    String binary =
        DebianPackage.findOrInstall(
            "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager");
    Path dir = Files.createTempDirectory("handlewatch-alertmanager-");
    Files.writeString(
        dir.resolve("alertmanager.yml"),
        """
        route:
          receiver: test
          group_by: ['...']
          group_wait: 200ms
          group_interval: %s
          repeat_interval: 1h
        receivers:
          - name: test
            webhook_configs:
              - url: %s
                send_resolved: true
        """
            .formatted(groupInterval, webhookUrl));
    return new AlertmanagerHarness(binary, dir, freePort());
  }

  /**
   * {@code members} Alertmanagers peered in one gossip cluster on loopback, each routing to {@code
   * webhookUrl}; none started. Start them all, then {@link #awaitPeers}.
   */
  public static List<AlertmanagerHarness> prepareCluster(int members, String webhookUrl)
      throws IOException, InterruptedException {
    List<AlertmanagerHarness> cluster = new ArrayList<>();
    List<Integer> gossip = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      cluster.add(prepare(webhookUrl, "3s"));
      gossip.add(freePort());
    }
    for (int i = 0; i < members; i++) {
      List<String> args = new ArrayList<>();
      args.add("--cluster.listen-address=127.0.0.1:" + gossip.get(i));
      args.add("--cluster.advertise-address=127.0.0.1:" + gossip.get(i));
      for (int j = 0; j < members; j++) {
        if (j != i) args.add("--cluster.peer=127.0.0.1:" + gossip.get(j));
      }
      args.addAll(
          List.of(
              "--cluster.gossip-interval=50ms",
              "--cluster.pushpull-interval=1s",
              "--cluster.peer-timeout=1s",
              "--cluster.reconnect-interval=1s"));
      cluster.get(i).clusterArgs = List.copyOf(args);
    }
    return cluster;
  }

  /** Waits until this member's {@code /api/v2/status} lists {@code members} cluster peers. */
  public void awaitPeers(int members) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (peers() < members) {
      if (System.nanoTime() > deadline) {
        throw new IOException(
            "alertmanager on port " + port + " sees fewer than " + members + " peers: " + log());
      }
      Thread.sleep(50); // polling the cluster status until a deadline
    }
  }

  private int peers() {
    try {
      var r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url() + "/api/v2/status"))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) return 0;
      return JSON.readTree(r.body()).path("cluster").path("peers").size();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /** Starts Alertmanager and waits until {@code /-/ready} answers 200. */
  public AlertmanagerHarness start() throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                binary,
                "--config.file=" + dir.resolve("alertmanager.yml"),
                "--storage.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--log.level=warn"));
    cmd.addAll(clusterArgs);
    process =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(dir.resolve("alertmanager.log").toFile()))
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!ready()) {
      if (!process.isAlive()) {
        throw new IOException(
            "alertmanager exited with "
                + process.exitValue()
                + ": "
                + Files.readString(dir.resolve("alertmanager.log")));
      }
      if (System.nanoTime() > deadline)
        throw new IOException("alertmanager not ready within 30 s on port " + port);
      Thread.sleep(50); // polling /-/ready until a deadline
    }
    return this;
  }

  private boolean ready() {
    return HttpProbe.answers(url() + "/-/ready", 200);
  }

  /** Its base URL (whether or not it runs yet). */
  public String url() {
    return "http://127.0.0.1:" + port;
  }

  /** What it logged, for failure messages. */
  public String log() throws IOException {
    Path log = dir.resolve("alertmanager.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  public void stop() throws InterruptedException {
    if (process == null) return;
    process.destroyForcibly();
    process.waitFor(20, TimeUnit.SECONDS);
    process = null;
  }

  @Override
  public void close() throws Exception {
    stop();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}

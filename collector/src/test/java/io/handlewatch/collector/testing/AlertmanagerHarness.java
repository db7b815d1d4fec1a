package io.handlewatch.collector.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
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
 */
public final class AlertmanagerHarness implements AutoCloseable {
  private final String binary;
  private final Path dir;
  private final int port;
  private Process process;

  private AlertmanagerHarness(String binary, Path dir, int port) {
    this.binary = binary;
    this.dir = dir;
    this.port = port;
  }

  /** Writes the configuration routing everything to {@code webhookUrl}; does not start. */
  public static AlertmanagerHarness prepare(String webhookUrl)
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
          group_interval: 500ms
          repeat_interval: 1h
        receivers:
          - name: test
            webhook_configs:
              - url: %s
                send_resolved: true
        """
            .formatted(webhookUrl));
    return new AlertmanagerHarness(binary, dir, freePort());
  }

  /** Starts Alertmanager and waits until {@code /-/ready} answers 200. */
  public AlertmanagerHarness start() throws IOException, InterruptedException {
    process =
        new ProcessBuilder(
                binary,
                "--config.file=" + dir.resolve("alertmanager.yml"),
                "--storage.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--cluster.listen-address=",
                "--log.level=warn")
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

package io.handlewatch.collector.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code influxd} (Debian's {@code influxdb} package, 1.6.7) for tests: its own temp
 * directory, free loopback ports, stopped and deleted by {@link #close()}. It can be stopped and
 * started again on the same data (fault tests), and installs the package when it is missing and the
 * tests run as root.
 */
public final class InfluxdHarness implements AutoCloseable {
  private static final HttpClient http = HttpClient.newHttpClient();

  private final Path dir;
  private final int httpPort;
  private final int rpcPort;
  private Process process;

  private InfluxdHarness(Path dir, int httpPort, int rpcPort) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.rpcPort = rpcPort;
  }

  /** Starts a fresh influxd and waits until it answers /ping. */
  public static InfluxdHarness start() throws IOException, InterruptedException {
    String binary = findOrInstall();
    Path dir = Files.createTempDirectory("handlewatch-influxd-");
    InfluxdHarness h = new InfluxdHarness(dir, freePort(), freePort());
    Files.writeString(
        dir.resolve("influxdb.conf"),
        """
        reporting-disabled = true
        bind-address = "127.0.0.1:%d"
        [meta]
          dir = "%s/meta"
        [data]
          dir = "%s/data"
          wal-dir = "%s/wal"
          query-log-enabled = false
        [http]
          bind-address = "127.0.0.1:%d"
          log-enabled = false
        [monitor]
          store-enabled = false
        [continuous_queries]
          enabled = false
        """
            .formatted(h.rpcPort, dir, dir, dir, h.httpPort));
    h.binary = binary;
    h.restart();
    return h;
  }

  private String binary;

  /** Starts influxd on this harness's data (after {@link #stop()}), and waits for /ping. */
  public void restart() throws IOException, InterruptedException {
    process =
        new ProcessBuilder(binary, "-config", dir.resolve("influxdb.conf").toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("influxd.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!pingOk()) {
      if (!process.isAlive()) {
        throw new IOException(
            "influxd exited with "
                + process.exitValue()
                + ": "
                + Files.readString(dir.resolve("influxd.log")));
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("influxd did not answer /ping within 30 s on port " + httpPort);
      }
      Thread.sleep(50); // polling /ping until a deadline
    }
  }

  private boolean pingOk() {
    return HttpProbe.answers(url() + "/ping", 204);
  }

  /** Kills influxd (SIGKILL when {@code hard}), keeping its data. */
  public void stop(boolean hard) throws InterruptedException {
    if (process == null) return;
    if (hard) process.destroyForcibly();
    else process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    process = null;
  }

  public String url() {
    return "http://127.0.0.1:" + httpPort;
  }

  /** Runs an InfluxQL statement (POST, so CREATE/DROP work too) and returns the raw JSON. */
  public String query(String database, String influxql) throws IOException, InterruptedException {
    String uri =
        url()
            + "/query?epoch=ms&db="
            + URLEncoder.encode(database, StandardCharsets.UTF_8)
            + "&q="
            + URLEncoder.encode(influxql, StandardCharsets.UTF_8);
    var r =
        http.send(
            HttpRequest.newBuilder(URI.create(uri))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200)
      throw new IOException("influxd answered " + r.statusCode() + ": " + r.body());
    return r.body();
  }

  /** Writes line protocol (millisecond timestamps) into {@code database}, as a writer would. */
  public void write(String database, String lines) throws IOException, InterruptedException {
    String uri =
        url() + "/write?precision=ms&db=" + URLEncoder.encode(database, StandardCharsets.UTF_8);
    var r =
        http.send(
            HttpRequest.newBuilder(URI.create(uri))
                .POST(HttpRequest.BodyPublishers.ofString(lines))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 204)
      throw new IOException("influxd refused the write with " + r.statusCode() + ": " + r.body());
  }

  @Override
  public void close() throws Exception {
    stop(true);
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String findOrInstall() throws IOException, InterruptedException {
    return DebianPackage.findOrInstall("influxdb", "/usr/bin/influxd", "/usr/local/bin/influxd");
  }
}

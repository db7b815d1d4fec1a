package io.handlewatch.collector.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real L4 load balancer in front of the collectors' ingest ports, as a Kubernetes Service or a
 * cloud balancer would be: Debian's {@code haproxy} in TCP mode on a free loopback port, checking
 * each collector with a TCP connect every 500 ms. It balances {@code first} (every new stream goes
 * to the first collector up, in order), so a test knows where an agent lands; {@link #disable}
 * takes one out and cuts its streams through the admin socket, as an operator draining it would, so
 * the agents reconnect and land on the next. {@link #close} kills it and deletes its files.
 */
public final class HaproxyHarness implements AutoCloseable {
  private final Path dir;
  private final int port;
  private final Process process;

  private HaproxyHarness(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /**
   * Starts haproxy in front of {@code backends} (loopback ports), named {@code c0}, {@code c1}, ...
   * in that order, and waits until it accepts connections.
   */
  public static HaproxyHarness start(List<Integer> backends)
      throws IOException, InterruptedException {
    String binary = DebianPackage.findOrInstall("haproxy", "/usr/sbin/haproxy", "/usr/bin/haproxy");
    Path dir = Files.createTempDirectory("handlewatch-haproxy-");
    int port = AlertmanagerHarness.freePort();
    StringBuilder servers = new StringBuilder();
    for (int i = 0; i < backends.size(); i++) {
      servers
          .append("  server c")
          .append(i)
          .append(" 127.0.0.1:")
          .append(backends.get(i))
          .append(" check inter 500ms fall 1 rise 1\n");
    }
    Files.writeString(
        dir.resolve("haproxy.cfg"),
        """
        global
          stats socket %s mode 600 level admin
        defaults
          mode tcp
          timeout connect 2s
          timeout client 1h
          timeout server 1h
        frontend ingest
          bind 127.0.0.1:%d
          default_backend collectors
        backend collectors
          balance first
          option redispatch
          retries 3
        %s"""
            .formatted(dir.resolve("admin.sock"), port, servers));
    Process p =
        new ProcessBuilder(binary, "-db", "-f", dir.resolve("haproxy.cfg").toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("haproxy.log").toFile()))
            .start();
    HaproxyHarness h = new HaproxyHarness(dir, port, p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!h.accepts()) {
      if (!p.isAlive()) {
        throw new IOException("haproxy exited with " + p.exitValue() + ": " + h.log());
      }
      if (System.nanoTime() > deadline) throw new IOException("haproxy not up: " + h.log());
      Thread.sleep(50); // polling the frontend until a deadline
    }
    return h;
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
      return Files.exists(dir.resolve("admin.sock"));
    } catch (IOException e) {
      return false;
    }
  }

  /** The one address agents are given. */
  public String target() {
    return "127.0.0.1:" + port;
  }

  /** Takes collector {@code i} out of the balancer and ends every stream through it. */
  public void disable(int i) throws IOException {
    command("disable server collectors/c" + i);
    command("shutdown sessions server collectors/c" + i);
  }

  /** Runs one command on the admin socket; an answer (haproxy answers nothing on success) fails. */
  private void command(String command) throws IOException {
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      c.connect(UnixDomainSocketAddress.of(dir.resolve("admin.sock")));
      c.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
      ByteBuffer in = ByteBuffer.allocate(64 * 1024);
      while (c.read(in) >= 0 && in.hasRemaining()) {
        // the answer ends when haproxy closes the connection
      }
      String answer = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
      if (!answer.isEmpty()) throw new IOException("haproxy: " + command + ": " + answer);
    }
  }

  public String log() throws IOException {
    Path log = dir.resolve("haproxy.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Override
  public void close() throws Exception {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}

package io.handlewatch.collector.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real CLOSE_WAIT leak on loopback for end-to-end tests: a child JVM (its own pid, comm {@code
 * java}) that connects to a server in the test and never closes what the server closed, so its
 * sockets sit in CLOSE_WAIT, held by it, as a buggy client's would. The test says when it leaks
 * more ({@link #leak}) and when it is fixed ({@link #fix}: it closes them all). {@link #close} ends
 * the child and the server.
 */
public final class CloseWaitLeak implements AutoCloseable {
  private final ServerSocket server;
  private final Thread acceptor;
  private final Process child;
  private final Writer commands;
  private final BufferedReader answers;

  private CloseWaitLeak(ServerSocket server, Thread acceptor, Process child) {
    this.server = server;
    this.acceptor = acceptor;
    this.child = child;
    this.commands = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
  }

  /** Starts the server (closing each connection it accepts) and the child, holding none yet. */
  public static CloseWaitLeak start() throws IOException {
    ServerSocket server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    Thread acceptor =
        Thread.ofPlatform()
            .daemon()
            .name("close-wait-server")
            .start(
                () -> {
                  while (!server.isClosed()) {
                    try {
                      server.accept().close(); // our FIN: the child's end goes to CLOSE_WAIT
                    } catch (IOException e) {
                      return; // closed by close()
                    }
                  }
                });
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child =
        new ProcessBuilder(
                java,
                "-Xmx16m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                Path.of("target/test-classes").toAbsolutePath().toString(),
                Child.class.getName(),
                Integer.toString(server.getLocalPort()))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    CloseWaitLeak leak = new CloseWaitLeak(server, acceptor, child);
    leak.expect("READY");
    return leak;
  }

  /** The child's pid: the {@code pid} label of its page. */
  public long pid() {
    return child.pid();
  }

  /** Opens {@code n} more connections and leaves them in CLOSE_WAIT; returns how many it holds. */
  public int leak(int n) throws IOException {
    return Integer.parseInt(send("leak " + n));
  }

  /** The bug is fixed: the child closes every socket it held. */
  public void fix() throws IOException {
    send("fix");
  }

  private String send(String command) throws IOException {
    commands.write(command + "\n");
    commands.flush();
    return expect("HELD").substring("HELD ".length());
  }

  private String expect(String prefix) throws IOException {
    String line = answers.readLine();
    if (line == null || !line.startsWith(prefix)) {
      throw new IOException("close-wait child said " + line + ", expected " + prefix);
    }
    return line;
  }

  @Override
  public void close() throws Exception {
    commands.close(); // the child ends at the end of its input
    if (!child.waitFor(10, TimeUnit.SECONDS)) child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    server.close();
    acceptor.join(5_000);
  }

  /** The leaking process. */
  public static final class Child {
    private Child() {}

    public static void main(String[] args) throws IOException {
      InetSocketAddress to =
          new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0]));
      List<SocketChannel> held = new ArrayList<>();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      System.out.println("READY " + ProcessHandle.current().pid());
      System.out.flush();
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("leak ")) {
          for (int i = Integer.parseInt(line.substring(5)); i > 0; i--)
            held.add(SocketChannel.open(to));
        } else if (line.equals("fix")) {
          for (SocketChannel c : held) c.close();
          held.clear();
        }
        System.out.println("HELD " + held.size());
        System.out.flush();
      }
    }
  }
}

package io.handlewatch.agent.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Named network namespaces made by a test ({@code ip netns add}, loopback up), each optionally with
 * a {@link NamespaceLoadChild} inside; {@link #close()} ends the children and deletes the
 * namespaces. Names carry a prefix (by default {@code hw12-}) and this JVM's pid so that parallel
 * tests of other engineers never collide.
 */
public final class NetnsFixture implements AutoCloseable {
  /** A started child: its pid and the ports it listens on (IPv4, IPv6). */
  public record Child(Process process, long pid, int port4, int port6) {}

  private final String prefix;
  private final List<String> names = new ArrayList<>();

  /** Namespaces named {@code hw12-PID-suffix}. */
  public NetnsFixture() {
    this("hw12-");
  }

  /** Namespaces named {@code prefix + PID-suffix}: each issue's tests keep their own prefix. */
  public NetnsFixture(String prefix) {
    this.prefix = prefix;
  }

  private final List<Process> children = new ArrayList<>();

  /** Creates namespace {@code PREFIX-PID-suffix} with loopback up and returns its name. */
  public String add(String suffix) throws IOException, InterruptedException {
    String name = prefix + ProcessHandle.current().pid() + "-" + suffix;
    run("ip", "netns", "add", name);
    names.add(name);
    run("ip", "-n", name, "link", "set", "lo", "up");
    return name;
  }

  /** Deletes a namespace made by {@link #add} before the fixture closes. */
  public void remove(String name) throws IOException, InterruptedException {
    run("ip", "netns", "del", name);
    names.remove(name);
  }

  /** Starts a {@link NamespaceLoadChild} inside {@code ns} and waits for its READY line. */
  public Child start(String ns, int established, int closeWait, int timeWait) throws IOException {
    Process p =
        new ProcessBuilder(
                "ip",
                "netns",
                "exec",
                ns,
                ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx32m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                NamespaceLoadChild.class.getName(),
                Integer.toString(established),
                Integer.toString(closeWait),
                Integer.toString(timeWait))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    children.add(p);
    String ready =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
            .readLine();
    if (ready == null || !ready.startsWith("READY ")) {
      throw new IOException("child in " + ns + " did not get ready: " + ready);
    }
    String[] f = ready.split(" ");
    return new Child(p, Long.parseLong(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]));
  }

  /** Ends a child (closing its stdin) and waits for it. */
  public static void stop(Child c) throws InterruptedException, IOException {
    c.process().getOutputStream().close();
    if (!c.process().waitFor(20, TimeUnit.SECONDS)) {
      c.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws Exception {
    for (Process p : children) {
      p.getOutputStream().close();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    for (String n : names) {
      run("ip", "netns", "del", n);
    }
  }

  public static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}

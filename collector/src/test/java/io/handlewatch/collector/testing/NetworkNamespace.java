package io.handlewatch.collector.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of the test's own, joined to this one by a veth pair on a /30 of
 * 10.231.0.0/16: the host side is {@link #hostAddress()}, the namespace side {@link
 * #innerAddress()}. A program run through {@link #exec()} sees only that link, so the test can cut
 * it (link down, packets dropped, packets rejected) without touching anything else on the machine.
 * {@link #close()} deletes the namespace, and with it the veth pair and its firewall rules.
 */
public final class NetworkNamespace implements AutoCloseable {
  private final String name;
  private final String hostIf;
  private final String hostAddress;
  private final String innerAddress;

  private NetworkNamespace(String name, String hostIf, int subnet) {
    this.name = name;
    this.hostIf = hostIf;
    this.hostAddress = "10.231." + (subnet >> 6) + "." + ((subnet & 63) * 4 + 1);
    this.innerAddress = "10.231." + (subnet >> 6) + "." + ((subnet & 63) * 4 + 2);
  }

  /** Creates the namespace and the link (needs root, and iproute2). */
  public static NetworkNamespace create() throws IOException, InterruptedException {
    String id = Long.toString(ProcessHandle.current().pid(), 36);
    int subnet = ThreadLocalRandom.current().nextInt(1, 256 * 64);
    NetworkNamespace ns = new NetworkNamespace("hw-fault-" + id, "hwf" + id + "h", subnet);
    String inner = "hwf" + id + "n";
    try {
      run("ip", "netns", "add", ns.name);
      run("ip", "link", "add", ns.hostIf, "type", "veth", "peer", "name", inner);
      run("ip", "link", "set", inner, "netns", ns.name);
      run("ip", "addr", "add", ns.hostAddress + "/30", "dev", ns.hostIf);
      run("ip", "link", "set", ns.hostIf, "up");
      ns.inside("ip", "addr", "add", ns.innerAddress + "/30", "dev", inner);
      ns.inside("ip", "link", "set", inner, "up");
      ns.inside("ip", "link", "set", "lo", "up");
    } catch (IOException | RuntimeException e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  /** The address of the veth end in this (the test's) namespace. */
  public String hostAddress() {
    return hostAddress;
  }

  public String innerAddress() {
    return innerAddress;
  }

  /** The command prefix that runs a program inside the namespace. */
  public List<String> exec() {
    return List.of("ip", "netns", "exec", name);
  }

  /** Takes the link down (both ends lose their route) or brings it back. */
  public void link(boolean up) throws IOException, InterruptedException {
    run("ip", "link", "set", hostIf, up ? "up" : "down");
  }

  /** Inside the namespace, {@code target} (DROP or REJECT) every TCP packet towards the host. */
  public void firewall(String target) throws IOException, InterruptedException {
    inside("iptables", "-A", "OUTPUT", "-d", hostAddress, "-p", "tcp", "-j", target);
  }

  /** Removes every rule {@link #firewall} added. */
  public void clearFirewall() throws IOException, InterruptedException {
    inside("iptables", "-F", "OUTPUT");
  }

  private void inside(String... cmd) throws IOException, InterruptedException {
    List<String> all = new ArrayList<>(exec());
    all.addAll(List.of(cmd));
    run(all.toArray(String[]::new));
  }

  /** Runs a command (ip, iptables) to its end within 30 s; fails with its output otherwise. */
  public static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " did not finish within 30 s");
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          String.join(" ", cmd) + " failed with " + p.exitValue() + ": " + out.strip());
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    // Deleting the namespace deletes its veth end, and the peer with it.
    Process p = new ProcessBuilder("ip", "netns", "del", name).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor(30, TimeUnit.SECONDS);
    Process l = new ProcessBuilder("ip", "link", "del", hostIf).redirectErrorStream(true).start();
    l.getInputStream().readAllBytes();
    l.waitFor(30, TimeUnit.SECONDS);
  }
}

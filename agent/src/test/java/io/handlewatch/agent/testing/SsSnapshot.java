package io.handlewatch.agent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Runs {@code ss -tan} (iproute2, the tool SREs trust) and parses it, for comparisons. */
public final class SsSnapshot {
  private static final Map<String, String> STATES =
      Map.ofEntries(
          Map.entry("ESTAB", "ESTABLISHED"),
          Map.entry("SYN-SENT", "SYN_SENT"),
          Map.entry("SYN-RECV", "SYN_RECV"),
          Map.entry("FIN-WAIT-1", "FIN_WAIT1"),
          Map.entry("FIN-WAIT-2", "FIN_WAIT2"),
          Map.entry("TIME-WAIT", "TIME_WAIT"),
          Map.entry("UNCONN", "CLOSE"),
          Map.entry("CLOSE-WAIT", "CLOSE_WAIT"),
          Map.entry("LAST-ACK", "LAST_ACK"),
          Map.entry("LISTEN", "LISTEN"),
          Map.entry("CLOSING", "CLOSING"));

  /** One socket line of ss: state (kernel name), local and peer "addr:port". */
  public record Line(String state, String local, String peer) {}

  private SsSnapshot() {}

  public static List<Line> tan() throws IOException, InterruptedException {
    return run(List.of("ss", "-tan"));
  }

  /** {@code ip netns exec NS ss -tan}: the sockets of one named network namespace. */
  public static List<Line> tanIn(String namespace) throws IOException, InterruptedException {
    return run(List.of("ip", "netns", "exec", namespace, "ss", "-tan"));
  }

  private static List<Line> run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
    return out.lines()
        .skip(1)
        .map(String::strip)
        .filter(l -> !l.isEmpty())
        .map(SsSnapshot::parse)
        .toList();
  }

  static Line parse(String line) {
    String[] f = line.split("\\s+");
    String state = STATES.get(f[0]);
    if (state == null) {
      throw new IllegalStateException("unknown ss state in: " + line);
    }
    return new Line(state, f[3], f[4]);
  }

  /** Sockets per state name. */
  public static Map<String, Long> countByState(List<Line> lines) {
    Map<String, Long> m = new TreeMap<>();
    for (Line l : lines) {
      m.merge(l.state(), 1L, Long::sum);
    }
    return m;
  }
}

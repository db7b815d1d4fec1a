package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcNetCountersParser;
import io.handlewatch.proto.v1.TcpCounters;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads the TCP counters of one network namespace from {@code net/netstat} (TcpExt) and {@code
 * net/snmp} (Tcp): {@code /proc/net/...} for the agent's own namespace, {@code /proc/PID/net/...}
 * for the namespace of process PID. Counters are cumulative; rates are the collector's job.
 */
public final class TcpCountersSource implements ProcSource<TcpCounters> {
  private static final Set<String> NETSTAT =
      Set.of(
          "TcpExt.ListenOverflows",
          "TcpExt.ListenDrops",
          "TcpExt.TCPAbortOnMemory",
          "TcpExt.TCPAbortOnTimeout",
          "TcpExt.TCPReqQFullDrop",
          "TcpExt.SyncookiesSent");
  private static final Set<String> SNMP =
      Set.of("Tcp.RetransSegs", "Tcp.OutSegs", "Tcp.AttemptFails", "Tcp.EstabResets");

  private final ProcFs fs;
  private final String netDir;

  /**
   * @param netDir the namespace's net directory relative to the procfs root: "net", or "PID/net"
   */
  public TcpCountersSource(ProcFs fs, String netDir) {
    this.fs = fs;
    this.netDir = netDir;
  }

  /** The counters, or throws when neither file could be read. */
  @Override
  public TcpCounters read(Problems problems) throws IOException {
    Map<String, Long> v = new HashMap<>();
    IOException netstat = readInto("netstat", NETSTAT, v, problems);
    IOException snmp = readInto("snmp", SNMP, v, problems);
    if (netstat != null && snmp != null) {
      throw netstat;
    }
    for (IOException e : new IOException[] {netstat, snmp}) {
      if (e != null) {
        problems.note(SourceErrors.describe(e));
      }
    }
    TcpCounters.Builder b = TcpCounters.newBuilder();
    set(v, "TcpExt.ListenOverflows", b::setListenOverflows);
    set(v, "TcpExt.ListenDrops", b::setListenDrops);
    set(v, "TcpExt.TCPAbortOnMemory", b::setAbortOnMemory);
    set(v, "TcpExt.TCPAbortOnTimeout", b::setAbortOnTimeout);
    set(v, "TcpExt.TCPReqQFullDrop", b::setReqQFullDrop);
    set(v, "TcpExt.SyncookiesSent", b::setSyncookiesSent);
    set(v, "Tcp.RetransSegs", b::setRetransSegs);
    set(v, "Tcp.OutSegs", b::setOutSegs);
    set(v, "Tcp.AttemptFails", b::setAttemptFails);
    set(v, "Tcp.EstabResets", b::setEstabResets);
    return b.build();
  }

  private IOException readInto(
      String file, Set<String> wanted, Map<String, Long> into, Problems problems) {
    String rel = netDir + "/" + file;
    String content;
    try {
      content = fs.readSmall(rel);
    } catch (IOException e) {
      return e;
    }
    into.putAll(ProcNetCountersParser.parse(fs.display(rel), content, wanted, problems));
    return null;
  }

  private static void set(Map<String, Long> v, String key, java.util.function.LongConsumer to) {
    Long x = v.get(key);
    if (x != null) {
      to.accept(x);
    }
  }
}

package io.handlewatch.collector.ingest;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Decides whether a report may be stored: the host identity is present and well-formed, the sample
 * time is a valid timestamp, counts are non-negative (a uint64 above 2^63 is a forged or corrupt
 * value), and every list and string is within {@link ReportLimits}. Whether the time is plausible
 * against the collector's clock is left to {@code ClockOffsets}, which measures the host's offset
 * first. The first violation found is returned, naming the field.
 */
public final class ReportValidator {
  /** RFC 1123 host names (and the underscores real fleets have), dot-separated labels. */
  private static final Pattern HOSTNAME =
      Pattern.compile(
          "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*");

  private final ReportLimits limits;

  public ReportValidator(ReportLimits limits) {
    this.limits = limits;
  }

  public Optional<Violation> check(HostReport r) {
    if (r.getSeq() == 0) {
      return bad("seq", "seq", "seq must be 1 or more");
    }
    if (!r.hasSample()) {
      return bad("sample", "missing", "the report carries no sample");
    }
    HostSample s = r.getSample();
    Optional<Violation> v = checkHost(s);
    if (v.isEmpty()) v = checkTime(s);
    if (v.isEmpty()) v = checkCounts(s);
    if (v.isEmpty()) v = checkProcesses(s);
    if (v.isEmpty()) v = checkRest(s);
    return v;
  }

  private Optional<Violation> checkHost(HostSample s) {
    if (!s.hasHost() || s.getHost().getHostname().isEmpty()) {
      return bad("sample.host.hostname", "host", "the sample names no host");
    }
    String h = s.getHost().getHostname();
    if (h.length() > 253 || !HOSTNAME.matcher(h).matches()) {
      return bad(
          "sample.host.hostname",
          "host",
          "not a host name (RFC 1123 labels, at most 253 characters): " + printable(h, 64));
    }
    var id = s.getHost();
    if (id.getMachineId().length() > 64 || id.getBootId().length() > 64) {
      return bad(
          "sample.host.machine_id", "string_length", "machine or boot id over 64 characters");
    }
    if (id.getKernelRelease().length() > 128) {
      return bad("sample.host.kernel_release", "string_length", "over 128 characters");
    }
    // Shown on the fleet page and stored as a field: a version string, nothing else.
    if (id.hasAgentVersion() && !AGENT_BUILD.matcher(id.getAgentVersion()).matches()) {
      return bad(
          "sample.host.agent_version",
          "agent_version",
          "not a version (at most 64 of A-Z a-z 0-9 . _ + ~ -): "
              + printable(id.getAgentVersion(), 64));
    }
    if (id.hasAgentCommit() && !AGENT_BUILD.matcher(id.getAgentCommit()).matches()) {
      return bad(
          "sample.host.agent_commit",
          "agent_version",
          "not a commit (at most 64 of A-Z a-z 0-9 . _ + ~ -): "
              + printable(id.getAgentCommit(), 64));
    }
    return checkLabels(id.getLabelsMap());
  }

  private static final Pattern AGENT_BUILD = Pattern.compile("[A-Za-z0-9._+~-]{1,64}");

  /** Host labels the agent may send: few, Prometheus-style names, none the collector sets. */
  public static final int MAX_HOST_LABELS = 16;

  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]{0,62}");

  /**
   * Label names the collector sets on stored points and pages itself: a host label under one of
   * them would overwrite or shadow the real one.
   */
  public static final java.util.Set<String> RESERVED_LABELS =
      java.util.Set.of(
          "host",
          "alertname",
          "severity",
          "kind",
          "subject",
          "namespace",
          "pod",
          "container",
          "unit",
          "pid",
          "comm",
          "remote",
          "name");

  private static Optional<Violation> checkLabels(java.util.Map<String, String> labels) {
    if (labels.size() > MAX_HOST_LABELS) {
      return tooMany("sample.host.labels", labels.size(), MAX_HOST_LABELS);
    }
    for (var e : new java.util.TreeMap<>(labels).entrySet()) {
      String k = e.getKey();
      String at = "sample.host.labels[" + printable(k, 64) + "]";
      if (!LABEL_NAME.matcher(k).matches() || k.startsWith("__")) {
        return bad(at, "label", "not a label name (a letter or _, then letters, digits or _)");
      }
      if (RESERVED_LABELS.contains(k)) {
        return bad(at, "label", "reserved: the collector sets " + k + " itself");
      }
      String v = e.getValue();
      if (v.isEmpty() || v.length() > 128 || v.chars().anyMatch(c -> c < 0x20)) {
        return bad(at, "label", "a label value is 1 to 128 printable characters");
      }
    }
    return Optional.empty();
  }

  private Optional<Violation> checkIdentity(String at, ProcessIdentity id) {
    for (String v :
        new String[] {
          id.getCgroup(),
          id.getSystemdUnit(),
          id.getRuntime(),
          id.getContainerId(),
          id.getPodUid(),
          id.getPodNamespace(),
          id.getPodName(),
          id.getContainerName()
        }) {
      if (v.length() > limits.maxTextLength) {
        return tooLong(at, v.length(), limits.maxTextLength);
      }
    }
    return Optional.empty();
  }

  private Optional<Violation> checkTime(HostSample s) {
    if (!s.hasTime()) {
      return bad("sample.time", "time", "the sample has no time");
    }
    Timestamp t = s.getTime();
    if (t.getNanos() < 0 || t.getNanos() > 999_999_999) {
      return bad("sample.time", "time", "nanos out of range: " + t.getNanos());
    }
    // google.protobuf.Timestamp's range (years 1..9999); beyond it Instant itself overflows.
    if (t.getSeconds() < -62_135_596_800L || t.getSeconds() > 253_402_300_799L) {
      return bad("sample.time", "time", "seconds out of range: " + t.getSeconds());
    }
    // How far the time may be from the collector's is the clock stage's call (ClockOffsets): it
    // measures the host's offset and refuses only the times that cannot be right.
    return Optional.empty();
  }

  private Optional<Violation> checkCounts(HostSample s) {
    if (s.hasTcp()) {
      var tcp = s.getTcp();
      Optional<Violation> v = counts("sample.tcp.total", tcp.getTotal());
      if (v.isEmpty()) v = counts("sample.tcp.ipv4", tcp.getIpv4());
      if (v.isEmpty()) v = counts("sample.tcp.ipv6", tcp.getIpv6());
      if (v.isPresent()) return v;
      if (tcp.getNamespacesCount() > limits.maxNamespaces) {
        return tooMany("sample.tcp.namespaces", tcp.getNamespacesCount(), limits.maxNamespaces);
      }
      for (int i = 0; i < tcp.getNamespacesCount(); i++) {
        NamespaceSockets ns = tcp.getNamespaces(i);
        String at = "sample.tcp.namespaces[" + i + "]";
        v = counts(at + ".counts", ns.getCounts());
        if (v.isEmpty() && ns.getName().length() > 255) {
          v = tooLong(at + ".name", ns.getName().length(), 255);
        }
        if (v.isEmpty()) v = checkIdentity(at + ".owner", ns.getOwner());
        if (v.isPresent()) return v;
      }
    }
    if (s.hasSockstat()) {
      var ss = s.getSockstat();
      long[] values = {
        ss.getSocketsUsed(),
        ss.getTcpInuse(),
        ss.getTcpOrphan(),
        ss.getTcpTw(),
        ss.getTcpAlloc(),
        ss.getTcpMemPages(),
        ss.getUdpInuse(),
        ss.getUdpMemPages(),
        ss.getTcp6Inuse(),
        ss.getUdp6Inuse()
      };
      for (long x : values) {
        if (x < 0) return negative("sample.sockstat", x);
      }
    }
    if (s.hasFileHandles()) {
      var fh = s.getFileHandles();
      if (fh.getAllocated() < 0)
        return negative("sample.file_handles.allocated", fh.getAllocated());
      if (fh.getMax() < 0) return negative("sample.file_handles.max", fh.getMax());
      if (fh.getNrOpen() < 0) return negative("sample.file_handles.nr_open", fh.getNrOpen());
      if (!ratio(fh.getUsedRatio())) {
        return bad("sample.file_handles.used_ratio", "count", "not a finite ratio >= 0");
      }
    }
    return Optional.empty();
  }

  private Optional<Violation> checkProcesses(HostSample s) {
    if (s.getProcessesCount() > limits.maxProcesses) {
      return tooMany("sample.processes", s.getProcessesCount(), limits.maxProcesses);
    }
    for (int i = 0; i < s.getProcessesCount(); i++) {
      ProcessSample p = s.getProcesses(i);
      String at = "sample.processes[" + i + "]";
      if (p.getComm().length() > limits.maxCommLength) {
        return tooLong(at + ".comm", p.getComm().length(), limits.maxCommLength);
      }
      if (p.getCmdline().length() > limits.maxCmdlineLength) {
        return tooLong(at + ".cmdline", p.getCmdline().length(), limits.maxCmdlineLength);
      }
      if (p.getFds() < 0) return negative(at + ".fds", p.getFds());
      if (p.getSoftLimit() < 0) return negative(at + ".soft_limit", p.getSoftLimit());
      if (p.getHardLimit() < 0) return negative(at + ".hard_limit", p.getHardLimit());
      if (!ratio(p.getUsedRatio())) {
        return bad(at + ".used_ratio", "count", "not a finite ratio >= 0");
      }
      Optional<Violation> v = counts(at + ".sockets", p.getSockets());
      if (v.isEmpty()) v = checkIdentity(at + ".identity", p.getIdentity());
      if (v.isPresent()) return v;
      if (p.getCloseWaitPeersCount() > limits.maxEndpointsPerProcess) {
        return tooMany(
            at + ".close_wait_peers", p.getCloseWaitPeersCount(), limits.maxEndpointsPerProcess);
      }
      for (int j = 0; j < p.getCloseWaitPeersCount(); j++) {
        EndpointCount e = p.getCloseWaitPeers(j);
        String ea = at + ".close_wait_peers[" + j + "]";
        if (e.getEndpoint().isEmpty() || e.getEndpoint().length() > limits.maxEndpointLength) {
          return tooLong(ea + ".endpoint", e.getEndpoint().length(), limits.maxEndpointLength);
        }
        if (e.getCount() < 0) return negative(ea + ".count", e.getCount());
      }
    }
    return Optional.empty();
  }

  private Optional<Violation> checkRest(HostSample s) {
    if (s.hasPortPressure()) {
      var pp = s.getPortPressure();
      if (pp.getTopCount() > limits.maxPortPressureEntries) {
        return tooMany("sample.port_pressure.top", pp.getTopCount(), limits.maxPortPressureEntries);
      }
      for (int i = 0; i < pp.getTopCount(); i++) {
        PortPressureEntry e = pp.getTop(i);
        String at = "sample.port_pressure.top[" + i + "]";
        if (e.getRemote().isEmpty() || e.getRemote().length() > limits.maxEndpointLength) {
          return tooLong(at + ".remote", e.getRemote().length(), limits.maxEndpointLength);
        }
        if (e.getInUse() < 0) return negative(at + ".in_use", e.getInUse());
        if (e.getTimeWait() < 0) return negative(at + ".time_wait", e.getTimeWait());
      }
    }
    if (s.hasListenQueues()) {
      var lq = s.getListenQueues();
      if (lq.getListenersCount() > limits.maxListeners) {
        return tooMany(
            "sample.listen_queues.listeners", lq.getListenersCount(), limits.maxListeners);
      }
      for (int i = 0; i < lq.getListenersCount(); i++) {
        Listener l = lq.getListeners(i);
        String at = "sample.listen_queues.listeners[" + i + "]";
        if (l.getLocal().isEmpty() || l.getLocal().length() > limits.maxEndpointLength) {
          return tooLong(at + ".local", l.getLocal().length(), limits.maxEndpointLength);
        }
        if (l.hasComm() && l.getComm().length() > limits.maxCommLength) {
          return tooLong(at + ".comm", l.getComm().length(), limits.maxCommLength);
        }
        if (l.getQueue() < 0) return negative(at + ".queue", l.getQueue());
        if (l.getBacklog() < 0) return negative(at + ".backlog", l.getBacklog());
        if (l.getSynRecv() < 0) return negative(at + ".syn_recv", l.getSynRecv());
        if (l.hasIdentity()) {
          Optional<Violation> v = checkIdentity(at + ".identity", l.getIdentity());
          if (v.isPresent()) return v;
        }
      }
    }
    if (s.getSysctlsCount() > limits.maxSysctls) {
      return tooMany("sample.sysctls", s.getSysctlsCount(), limits.maxSysctls);
    }
    for (int i = 0; i < s.getSysctlsCount(); i++) {
      Sysctl sc = s.getSysctls(i);
      String at = "sample.sysctls[" + i + "]";
      if (sc.getName().isEmpty() || sc.getName().length() > 128) {
        return tooLong(at + ".name", sc.getName().length(), 128);
      }
      if (sc.getValue().length() > limits.maxSysctlValueLength) {
        return tooLong(at + ".value", sc.getValue().length(), limits.maxSysctlValueLength);
      }
    }
    if (s.hasHealth()) {
      var h = s.getHealth();
      if (h.getSourcesCount() > limits.maxHealthSources) {
        return tooMany("sample.health.sources", h.getSourcesCount(), limits.maxHealthSources);
      }
      for (int i = 0; i < h.getSourcesCount(); i++) {
        SourceRun run = h.getSources(i);
        String at = "sample.health.sources[" + i + "]";
        if (run.getSource().length() > 128)
          return tooLong(at + ".source", run.getSource().length(), 128);
        if (run.getErrorsCount() > 32) return tooMany(at + ".errors", run.getErrorsCount(), 32);
        for (String e : run.getErrorsList()) {
          if (e.length() > limits.maxTextLength) {
            return tooLong(at + ".errors", e.length(), limits.maxTextLength);
          }
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<Violation> counts(String field, TcpStateCounts c) {
    long[] values = {
      c.getEstablished(), c.getSynSent(), c.getSynRecv(), c.getFinWait1(), c.getFinWait2(),
      c.getTimeWait(), c.getClose(), c.getCloseWait(), c.getLastAck(), c.getListen(),
      c.getClosing(), c.getNewSynRecv()
    };
    for (long x : values) {
      if (x < 0) return negative(field, x);
    }
    return Optional.empty();
  }

  private static boolean ratio(double r) {
    return Double.isFinite(r) && r >= 0;
  }

  private static Optional<Violation> bad(String field, String reason, String message) {
    return Optional.of(Violation.invalid(field, reason, message));
  }

  private static Optional<Violation> negative(String field, long asSigned) {
    return bad(
        field,
        "count",
        "count out of range: "
            + Long.toUnsignedString(asSigned)
            + " (above 2^63: forged or corrupt)");
  }

  private static Optional<Violation> tooMany(String field, int n, int max) {
    return Optional.of(
        Violation.tooBig(field, "list_size", n + " entries, more than the limit of " + max));
  }

  private static Optional<Violation> tooLong(String field, int n, int max) {
    return Optional.of(
        Violation.tooBig(field, "string_length", n + " characters, outside the allowed 1.." + max));
  }

  /** A short, single-line rendering of untrusted text for an error message. */
  static String printable(String s, int max) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length() && sb.length() < max; i++) {
      char c = s.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return '"' + sb.toString() + (s.length() > max ? "…" : "") + '"';
  }
}

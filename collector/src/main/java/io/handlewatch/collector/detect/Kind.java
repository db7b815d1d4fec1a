package io.handlewatch.collector.detect;

/**
 * What a verdict is about. The paging kinds become Alertmanager alerts named {@link #alertname()};
 * the others are findings shown in the API and never page. {@link #tag()} is the {@code kind} tag
 * of the {@code verdict} measurement and the anchor of the kind's section in RUNBOOK.md.
 */
public enum Kind {
  /** Open fds of one process against its soft RLIMIT_NOFILE. */
  PROCESS_FDS("process_fds", "ProcessFileDescriptorsRunningOut", true),
  /** file-nr allocated against fs.file-max. */
  SYSTEM_FDS("system_fds", "SystemFileHandlesRunningOut", true),
  /** CLOSE_WAIT sockets growing, held by one process (or by the host when unattributed). */
  CLOSE_WAIT("close_wait", "CloseWaitGrowing", true),
  /** Local ephemeral ports towards one remote endpoint against ip_local_port_range. */
  PORT_PRESSURE("port_pressure", "EphemeralPortsRunningOut", true),
  /** TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets. */
  TIME_WAIT_BUCKETS("time_wait_buckets", "TimeWaitBucketsRunningOut", true),
  /** Connection tracking entries against net.netfilter.nf_conntrack_max. */
  CONNTRACK("conntrack", "ConntrackTableRunningOut", true),
  /** Orphaned TCP sockets against net.ipv4.tcp_max_orphans. */
  ORPHANS("orphans", "OrphanSocketsRunningOut", true),
  /** Pages of TCP buffer memory against net.ipv4.tcp_mem (pressure, max). */
  TCP_MEMORY("tcp_memory", "TcpMemoryRunningOut", true),
  /** A listener's accept queue full while ListenOverflows rises, naming its process and port. */
  ACCEPT_QUEUE("accept_queue", "AcceptQueueOverflowing", true),
  /**
   * A listener's SYN queue (its SYN_RECV request sockets) at its cap while the kernel answers with
   * syncookies or drops SYNs, naming its process and port.
   */
  SYN_QUEUE("syn_queue", "SynQueueOverflowing", true),
  /** net.ipv4.tcp_tw_recycle set: breaks clients behind NAT, removed in Linux 4.12. */
  TCP_TW_RECYCLE("tcp_tw_recycle", null, false),
  /** ip_local_port_range too narrow for the TIME_WAIT churn towards one endpoint. */
  NARROW_PORT_RANGE("narrow_port_range", null, false),
  /** net.core.somaxconn low: accept queues overflow under bursts. */
  LOW_SOMAXCONN("low_somaxconn", null, false),
  /** A socket-heavy process still on the default soft nofile limit of 1024. */
  LOW_NOFILE("low_nofile", null, false),
  /** tcp_fin_timeout lowered, as if it shortened TIME_WAIT (it does not). */
  FIN_TIMEOUT("tcp_fin_timeout", null, false),
  /** A listener's backlog cut to a low net.core.somaxconn. */
  BACKLOG_CAPPED("backlog_capped", null, false),
  /** net.ipv4.tcp_max_syn_backlog below the listeners' backlogs. */
  SYN_BACKLOG("syn_backlog", null, false),
  /** nf_conntrack_max with little headroom over the host's traffic. */
  CONNTRACK_MAX("conntrack_max", null, false),
  /** net.ipv4.tcp_mem thresholds with little headroom over TCP's buffer use. */
  TCP_MEM_HEADROOM("tcp_mem_headroom", null, false),
  /** A sysctl whose value differs from the fleet majority. */
  SYSCTL_DRIFT("sysctl_drift", null, false),
  /** The host's clock off the collector's by more than detection.clock.warning. */
  CLOCK_OFFSET("clock_offset", "HostClockOffset", true);

  private final String tag;
  private final String alertname;
  private final boolean pages;

  Kind(String tag, String alertname, boolean pages) {
    this.tag = tag;
    this.alertname = alertname;
    this.pages = pages;
  }

  public String tag() {
    return tag;
  }

  /** The Alertmanager {@code alertname}; null for findings. */
  public String alertname() {
    return alertname;
  }

  /** Whether a verdict of this kind at warning or critical becomes an alert. */
  public boolean pages() {
    return pages;
  }
}

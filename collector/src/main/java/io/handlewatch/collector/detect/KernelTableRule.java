package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;
import static io.handlewatch.collector.detect.EvidenceText.percent;
import static io.handlewatch.collector.detect.EvidenceText.time;

import io.handlewatch.proto.v1.HostSample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The kernel tables that run out besides fds and ports: connection tracking (nf_conntrack_count
 * against nf_conntrack_max), orphaned sockets (against net.ipv4.tcp_max_orphans) and TCP memory
 * (pages against the third value of net.ipv4.tcp_mem) get an ETA and page like fds, through the
 * same trend and judge; listeners whose accept queue stays full while ListenOverflows rises page
 * naming their process and address. Their findings explain the sysctls behind them.
 *
 * <p>Each host's tables live in a {@link KernelTableWindow} held beside its {@link HostWindow}
 * (weakly keyed by it, so a window the engine lets go or rebuilds takes its tables with it).
 */
final class KernelTableRule implements Rule {
  static final String MAX_ORPHANS = "net.ipv4.tcp_max_orphans";
  static final String TCP_MEM = "net.ipv4.tcp_mem";
  static final String SOMAXCONN = "net.core.somaxconn";
  static final String MAX_SYN_BACKLOG = "net.ipv4.tcp_max_syn_backlog";
  static final String CONNTRACK_MAX = "net.netfilter.nf_conntrack_max";
  static final String SYNCOOKIES = "net.ipv4.tcp_syncookies";

  /** Conntrack entries and orphans churn with traffic; a handful either way is no change. */
  private static final double TOLERANCE = 5;

  private final Buckets buckets;
  private final EnvelopeTrend trends;
  private final ExhaustionJudge conntrack;
  private final ExhaustionJudge orphans;
  private final ExhaustionJudge tcpMemory;
  private final DetectionConfig.AcceptQueue acceptQueue;
  private final DetectionConfig.Findings findings;
  private final Map<HostWindow, KernelTableWindow> tables =
      Collections.synchronizedMap(new WeakHashMap<>());

  KernelTableRule(DetectionConfig config, Buckets buckets, EnvelopeTrend trends) {
    this.buckets = buckets;
    this.trends = trends;
    this.conntrack = new ExhaustionJudge(config.conntrack());
    this.orphans = new ExhaustionJudge(config.orphans());
    this.tcpMemory = new ExhaustionJudge(config.tcpMemory());
    this.acceptQueue = config.acceptQueue();
    this.findings = config.findings();
  }

  /** Adds a sample of {@code w}'s host to its tables (late samples included, like the window). */
  @Override
  public void add(HostWindow w, HostSample s, long timeMs) {
    KernelTableWindow t = tables.computeIfAbsent(w, k -> new KernelTableWindow(buckets.count()));
    t.add(s, timeMs, buckets.bucketOf(timeMs), w.sysctls);
    t.forgetOlderThan(timeMs - buckets.window().toMillis());
  }

  /**
   * Judges the host's tables as of its newest sample: paging verdicts into {@code out}'s verdicts
   * (folded with the same process's CLOSE_WAIT or fd incident, see {@link #fold}), findings into
   * its findings.
   */
  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    KernelTableWindow t = tables.get(w);
    if (t == null || t.lastMs != w.lastMs) return;
    List<Verdict> mine = new ArrayList<>();
    exhaustion(w, t, at, mine);
    acceptQueues(w, t, at, mine);
    synQueues(w, t, at, mine);
    fold(out.verdicts, mine, out::paging);
    findings(w, t, at, out.findings);
  }

  private void exhaustion(HostWindow w, KernelTableWindow t, Instant at, List<Verdict> out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    if (t.conntrack.lastMs() == w.lastMs) {
      double max = t.conntrackMax;
      if (Double.isNaN(max)) max = PortPressureRule.parse(w.sysctls.get(CONNTRACK_MAX));
      double n = t.conntrack.last();
      Trend trend = trends.analyze(t.conntrack, first, now, conntrack.minTrendMinutes(), TOLERANCE);
      var j = conntrack.judge(trend, n, max);
      if (j.severity() != null) {
        out.add(
            table(
                w,
                k -> k.conntrack,
                Kind.CONNTRACK,
                j,
                at,
                trend,
                n,
                max,
                count(n)
                    + " conntrack entries of nf_conntrack_max "
                    + count(max)
                    + " ("
                    + percent(n, max)
                    + ")",
                "Connection tracking entries (nf_conntrack_count): "
                    + count(n)
                    + " of net.netfilter.nf_conntrack_max "
                    + count(max)
                    + ". At the limit the kernel drops every packet that would start a new flow"
                    + " and logs \"nf_conntrack: table full, dropping packet\": new connections"
                    + " time out while existing ones work. ",
                "entries"));
      }
    }
    namespaceConntrack(w, t, at, out);
    double maxOrphans = PortPressureRule.parse(w.sysctls.get(MAX_ORPHANS));
    if (t.orphans.lastMs() == w.lastMs && !Double.isNaN(maxOrphans)) {
      double n = t.orphans.last();
      Trend trend = trends.analyze(t.orphans, first, now, orphans.minTrendMinutes(), TOLERANCE);
      var j = orphans.judge(trend, n, maxOrphans);
      if (j.severity() != null) {
        out.add(
            table(
                w,
                k -> k.orphans,
                Kind.ORPHANS,
                j,
                at,
                trend,
                n,
                maxOrphans,
                count(n)
                    + " orphaned TCP sockets of tcp_max_orphans "
                    + count(maxOrphans)
                    + " ("
                    + percent(n, maxOrphans)
                    + ")",
                "Orphaned sockets (closed by their process, still sending or waiting for the peer:"
                    + " FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING; /proc/net/sockstat orphan): "
                    + count(n)
                    + " of net.ipv4.tcp_max_orphans "
                    + count(maxOrphans)
                    + ". Past it the kernel resets them at once and logs \"too many orphaned"
                    + " sockets\"; peers see connections reset. ",
                "sockets"));
      }
    }
    long[] mem = tcpMem(w.sysctls.get(TCP_MEM));
    if (t.tcpMemPages.lastMs() == w.lastMs && mem != null) {
      double pages = t.tcpMemPages.last();
      double pressure = mem[1];
      double max = mem[2];
      Trend trend =
          trends.analyze(t.tcpMemPages, first, now, tcpMemory.minTrendMinutes(), TOLERANCE);
      var j = tcpMemory.judge(trend, pages, max);
      boolean underPressure = pages >= pressure;
      if (underPressure && (j.severity() == null || j.severity().compareTo(Severity.WARNING) < 0)) {
        j = new ExhaustionJudge.Judgement(Severity.WARNING, j.eta());
      }
      if (j.severity() != null) {
        String pressureEta = "";
        if (!underPressure && j.eta() != null && trend.slopePerMin() > 0) {
          double min = (pressure - pages) / trend.slopePerMin();
          pressureEta = ", pressure in " + EvidenceText.eta(Duration.ofSeconds((long) (min * 60)));
        }
        out.add(
            table(
                w,
                k -> k.tcpMemPages,
                Kind.TCP_MEMORY,
                j,
                at,
                trend,
                pages,
                max,
                "TCP buffers use "
                    + count(pages)
                    + " pages of tcp_mem max "
                    + count(max)
                    + " ("
                    + percent(pages, max)
                    + (underPressure ? "; under pressure" : "")
                    + pressureEta
                    + ")",
                "Memory of TCP socket buffers (/proc/net/sockstat TCP mem, in pages): "
                    + count(pages)
                    + " against net.ipv4.tcp_mem "
                    + mem[0]
                    + " "
                    + mem[1]
                    + " "
                    + mem[2]
                    + (underPressure
                        ? ". It is past the pressure threshold: the kernel is shrinking every"
                            + " socket's buffers (throughput drops)."
                        : ". From the pressure threshold ("
                            + count(pressure)
                            + ") the kernel shrinks every socket's buffers.")
                    + " At max it refuses buffer memory, drops segments and kills connections"
                    + " (\"TCP: out of memory -- consider tuning tcp_mem\", TCPAbortOnMemory). ",
                "pages"));
      }
    }
  }

  private Verdict table(
      HostWindow w,
      Function<KernelTableWindow, SeriesWindow> series,
      Kind kind,
      ExhaustionJudge.Judgement j,
      Instant at,
      Trend trend,
      double value,
      double limit,
      String what,
      String description,
      String unit) {
    return table(
        w,
        series,
        kind,
        j,
        at,
        trend,
        value,
        limit,
        what,
        description,
        unit,
        w.host,
        w.host,
        Map.of());
  }

  private Verdict table(
      HostWindow w,
      Function<KernelTableWindow, SeriesWindow> series,
      Kind kind,
      ExhaustionJudge.Judgement j,
      Instant at,
      Trend trend,
      double value,
      double limit,
      String what,
      String description,
      String unit,
      String subject,
      String identity,
      Map<String, String> labels) {
    String key = w.host + "/" + kind.tag() + "/" + identity;
    // Read in the window the incident is judged in, not this one's series: a window rebuilt under
    // the incident (a late warm-up) has tables of its own. Unknown (NaN) once the series is gone.
    HandleExhaustionRule.track(
        w,
        trend,
        key,
        value,
        h -> {
          KernelTableWindow k = tables.get(h);
          SeriesWindow s = k == null ? null : series.apply(k);
          return s == null ? Double.NaN : s.last();
        });
    return HandleExhaustionRule.verdict(
        w,
        kind,
        subject,
        j,
        at,
        trend,
        value,
        limit,
        labels,
        w.host + ": " + what + HandleExhaustionRule.growthClause(trend, j.eta()),
        description + HandleExhaustionRule.trendSentence(trend, j.eta(), unit, buckets),
        identity,
        buckets);
  }

  /**
   * Each namespace's conntrack table against nf_conntrack_max: the kernel counts entries per
   * network namespace (nf_conntrack_count read inside it) and refuses a new one when that
   * namespace's count passes the global nf_conntrack_max, so a pod's namespace runs out on its own,
   * whatever the host's count. Its page names the namespace and its pod or container.
   */
  private void namespaceConntrack(
      HostWindow w, KernelTableWindow t, Instant at, List<Verdict> out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    double hostMax = t.conntrackMax;
    if (Double.isNaN(hostMax)) hostMax = PortPressureRule.parse(w.sysctls.get(CONNTRACK_MAX));
    for (var e : t.namespaces.entrySet()) {
      KernelTableWindow.NamespaceTable ns = e.getValue();
      if (ns.lastMs != w.lastMs) continue;
      long inode = e.getKey();
      double max = Double.isNaN(ns.max) ? hostMax : ns.max;
      if (Double.isNaN(max)) continue;
      double n = ns.conntrack.last();
      Trend trend =
          trends.analyze(ns.conntrack, first, now, conntrack.minTrendMinutes(), TOLERANCE);
      var j = conntrack.judge(trend, n, max);
      if (j.severity() == null) continue;
      Map<String, String> labels = new HashMap<>(Owners.labels(ns.owner));
      String netns = ns.name != null ? ns.name : Long.toUnsignedString(e.getKey());
      labels.put("netns", netns);
      out.add(
          table(
              w,
              k -> {
                KernelTableWindow.NamespaceTable same = k.namespaces.get(inode);
                return same == null ? null : same.conntrack;
              },
              Kind.CONNTRACK,
              j,
              at,
              trend,
              n,
              max,
              ns.subject
                  + " "
                  + count(n)
                  + " conntrack entries of nf_conntrack_max "
                  + count(max)
                  + " ("
                  + percent(n, max)
                  + ")",
              "Connection tracking entries of network namespace "
                  + ns.subject
                  + " (nf_conntrack_count read inside it): "
                  + count(n)
                  + " of net.netfilter.nf_conntrack_max "
                  + count(max)
                  + ". The kernel counts entries per namespace and holds each namespace to the one"
                  + " global nf_conntrack_max (read-only inside a namespace): at the limit this"
                  + " namespace drops every packet that would start a new flow (\"nf_conntrack:"
                  + " table full, dropping packet\"), while the host's own table may be far from"
                  + " full. ",
              "entries",
              ns.subject,
              "netns:" + Long.toUnsignedString(e.getKey()),
              labels));
    }
  }

  /**
   * Saturated accept queues page critical: full in {@code saturatedSamples} samples in a row while
   * the namespace's ListenOverflows rose (the kernel dropped completed connections). A queue full
   * in a share of its recent samples, not saturated, is a warning.
   */
  private void acceptQueues(HostWindow w, KernelTableWindow t, Instant at, List<Verdict> out) {
    for (var e : t.listeners.entrySet()) {
      KernelTableWindow.ListenerState l = e.getValue();
      if (l.lastMs != w.lastMs) continue;
      KernelTableWindow.ListenerKey key = e.getKey();
      double overflows = t.overflowsOf(key);
      boolean saturated =
          l.consecutiveFull >= acceptQueue.saturatedSamples()
              && !Double.isNaN(overflows)
              && overflows > l.overflowsAtRunStart;
      int recent = acceptQueue.recentSamples();
      int full = l.fullOf(recent);
      boolean often =
          !saturated
              && full
                  >= Math.max(2, Math.ceil(acceptQueue.oftenFullShare() * Math.min(recent, 64)));
      if (!saturated && !often) continue;
      String proc =
          (l.comm == null || l.comm.isEmpty() ? "?" : l.comm)
              + (key.pid() >= 0 ? "[" + key.pid() + "]" : "");
      String owner = Owners.name(l.identity);
      String who = owner == null ? proc : owner + " (" + proc + ")";
      String addr = shortAddress(key.local());
      String queue = count(l.queue) + "/" + count(l.backlog);
      String summary;
      String evidence;
      if (saturated) {
        double minutes = Math.max(1e-9, (w.lastMs - l.runStartMs) / 60_000.0);
        double rate = (overflows - l.overflowsAtRunStart) / minutes;
        summary =
            w.host
                + ": "
                + who
                + " "
                + addr
                + " accept queue "
                + queue
                + " full, "
                + rateText(rate)
                + " overflows/min since "
                + time(Instant.ofEpochMilli(l.runStartMs));
        evidence =
            "Its queue has been full in the last "
                + l.consecutiveFull
                + " samples, and ListenOverflows rose by "
                + count(overflows - l.overflowsAtRunStart)
                + " meanwhile: the kernel is dropping connections that completed the handshake"
                + " (clients see them hang, then time out or retry). ";
      } else {
        summary =
            w.host
                + ": "
                + who
                + " "
                + addr
                + " accept queue often full ("
                + full
                + " of the last "
                + Math.min(recent, l.samples)
                + " samples; now "
                + queue
                + ")";
        evidence =
            "Its queue was full in "
                + full
                + " of the last "
                + Math.min(recent, l.samples)
                + " samples: bursts outrun accept(), and each full moment drops connections. ";
      }
      String description =
          "Listening socket "
              + key.local()
              + " of "
              + who
              + ": "
              + count(l.queue)
              + " connections wait for accept() of a backlog of "
              + count(l.backlog)
              + " (the listen() backlog capped by net.core.somaxconn"
              + somaxconnClause(w)
              + "). "
              + evidence
              + "The process is not accepting fast enough: stuck, overloaded or blocked on"
              + " something else. A larger backlog only buys a burst's worth of time.";
      Map<String, String> labels = listenerLabels(key, l);
      String identity = listenerIdentity(proc, key);
      keepListenerBaseline(w, Kind.ACCEPT_QUEUE, identity, key, l.backlog, s -> s.queue);
      out.add(
          new Verdict(
              w.host,
              Kind.ACCEPT_QUEUE,
              proc + " " + key.local(),
              saturated ? Severity.CRITICAL : Severity.WARNING,
              at,
              saturated
                  ? Duration.ofMillis(Math.max(0, w.lastMs - l.runStartMs))
                  : buckets.window(),
              null,
              l.queue,
              (double) l.backlog,
              saturated ? Duration.ZERO : null,
              saturated ? Instant.ofEpochMilli(l.runStartMs) : null,
              labels,
              summary,
              description,
              w.host + "/" + Kind.ACCEPT_QUEUE.tag() + "/" + identity));
    }
  }

  /**
   * A listener's SYN queue pages when it has been at its cap (see {@link KernelLimits#synQueueCap})
   * in {@code saturatedSamples} samples in a row and its namespace's counters show the kernel
   * refusing handshakes meanwhile: critical when SYNs were dropped (TCPReqQFullDrop, or ListenDrops
   * beyond ListenOverflows), warning when they were only answered with syncookies (clients still
   * connect, without the TCP options a cookie cannot carry). Request sockets live at most a minute
   * (tcp_synack_retries), so a queue full for three samples is fed without pause: a SYN flood, or
   * final ACKs lost on the way. A burst that drains within two samples, or a full queue with no
   * refusal counted, does not page.
   */
  private void synQueues(HostWindow w, KernelTableWindow t, Instant at, List<Verdict> out) {
    for (var e : t.listeners.entrySet()) {
      KernelTableWindow.ListenerState l = e.getValue();
      if (l.lastMs != w.lastMs || l.consecutiveSynFull < acceptQueue.saturatedSamples()) continue;
      KernelTableWindow.ListenerKey key = e.getKey();
      double[] now = t.synCountersOf(key);
      double[] start = l.synCountersAtRunStart;
      if (now == null || start == null) continue;
      double cookies = now[0] - start[0];
      double drops = now[1] - start[1];
      boolean dropped = drops > 0;
      if (!dropped && !(cookies > 0)) continue;
      String proc =
          (l.comm == null || l.comm.isEmpty() ? "?" : l.comm)
              + (key.pid() >= 0 ? "[" + key.pid() + "]" : "");
      String owner = Owners.name(l.identity);
      String who = owner == null ? proc : owner + " (" + proc + ")";
      double minutes = Math.max(1e-9, (w.lastMs - l.synRunStartMs) / 60_000.0);
      String rate =
          dropped
              ? rateText(drops / minutes) + " SYNs dropped/min"
              : rateText(cookies / minutes) + " SYNs answered with syncookies/min";
      String cookiesSysctl = w.sysctls.get(SYNCOOKIES);
      String maxSyn = w.sysctls.get(MAX_SYN_BACKLOG);
      String summary =
          w.host
              + ": "
              + who
              + " "
              + shortAddress(key.local())
              + " SYN queue "
              + count(l.synRecv)
              + "/"
              + count(l.synCap)
              + " full, "
              + rate
              + " since "
              + time(Instant.ofEpochMilli(l.synRunStartMs));
      String description =
          "Listening socket "
              + key.local()
              + " of "
              + who
              + ": "
              + count(l.synRecv)
              + " connection requests wait in SYN_RECV for the client's final ACK, at the SYN"
              + " queue's cap of "
              + count(l.synCap)
              + (l.synCap < l.backlog
                  ? " (three quarters of net.ipv4.tcp_max_syn_backlog "
                      + (maxSyn == null ? "?" : maxSyn.strip())
                      + ", syncookies off)"
                  : " (its backlog "
                      + count(l.backlog)
                      + "; net.ipv4.tcp_max_syn_backlog "
                      + (maxSyn == null ? "?" : maxSyn.strip())
                      + ")")
              + ", in the last "
              + l.consecutiveSynFull
              + " samples. Meanwhile the kernel "
              + (dropped
                  ? "dropped "
                      + count(drops)
                      + " SYNs: new clients retry after 1, 3, 7 s and time out"
                  : "answered "
                      + count(cookies)
                      + " SYNs with syncookies (tcp_syncookies = "
                      + (cookiesSysctl == null ? "?" : cookiesSysctl.strip())
                      + "): clients connect, but without window scaling or SACK unless"
                      + " timestamps are on")
              + ", and logs \"Possible SYN flooding on port\". Handshakes are not completing as"
              + " fast as SYNs arrive: a SYN flood (many sources, spoofed), or the final ACKs"
              + " lost on the way (a firewall, a full conntrack table, asymmetric routing).";
      Map<String, String> labels = listenerLabels(key, l);
      String identity = listenerIdentity(proc, key);
      keepListenerBaseline(w, Kind.SYN_QUEUE, identity, key, l.synCap, s -> s.synRecv);
      out.add(
          new Verdict(
              w.host,
              Kind.SYN_QUEUE,
              proc + " " + key.local(),
              dropped ? Severity.CRITICAL : Severity.WARNING,
              at,
              Duration.ofMillis(Math.max(0, w.lastMs - l.synRunStartMs)),
              null,
              l.synRecv,
              (double) l.synCap,
              Duration.ZERO,
              Instant.ofEpochMilli(l.synRunStartMs),
              labels,
              summary,
              description,
              w.host + "/" + Kind.SYN_QUEUE.tag() + "/" + identity));
    }
  }

  private static String somaxconnClause(HostWindow w) {
    String v = w.sysctls.get(SOMAXCONN);
    return v == null ? "" : ", " + v.strip() + " here";
  }

  private static String rateText(double perMin) {
    return perMin >= 10
        ? String.format(Locale.ROOT, "%,d", Math.round(perMin))
        : String.format(Locale.ROOT, "%.2g", perMin);
  }

  /** "0.0.0.0:443" and "[::]:443" read ":443" (every address); others as they are. */
  static String shortAddress(String local) {
    for (String any : new String[] {"0.0.0.0:", "[::]:", "*:", "[::ffff:0.0.0.0]:"}) {
      if (local.startsWith(any)) return ":" + local.substring(any.length());
    }
    return local;
  }

  /**
   * One incident per cause: a process whose accept queue overflows because it is stuck is usually
   * also the one whose CLOSE_WAIT grows (peers give up and close, it never reads them) and whose
   * fds grow. Its accept-queue verdict joins that process's paging CLOSE_WAIT or fd verdict (the
   * one already paging keeps its name), at the highest severity among them.
   */
  static void fold(List<Verdict> verdicts, List<Verdict> mine, Predicate<String> sent) {
    // A listener's SYN queue and its accept queue overflowing together are one incident: the
    // SYN-queue verdict joins the same listener's paging accept-queue verdict first.
    List<Verdict> queues = new ArrayList<>();
    for (Verdict a : mine) if (a.kind() != Kind.SYN_QUEUE) queues.add(a);
    for (Verdict a : mine) {
      if (a.kind() != Kind.SYN_QUEUE) continue;
      int match = -1;
      for (int i = 0; i < queues.size() && a.severity().pages(); i++) {
        Verdict v = queues.get(i);
        if (v.kind() == Kind.ACCEPT_QUEUE
            && v.severity().pages()
            && listenerOf(v).equals(listenerOf(a))) {
          match = i;
        }
      }
      if (match < 0) queues.add(a);
      else join(queues, match, a, sent);
    }
    for (Verdict a : queues) {
      int match = -1;
      if (a.kind() == Kind.ACCEPT_QUEUE && a.severity().pages() && a.labels().get("pid") != null) {
        for (int i = 0; i < verdicts.size(); i++) {
          Verdict v = verdicts.get(i);
          if ((v.kind() == Kind.CLOSE_WAIT || v.kind() == Kind.PROCESS_FDS)
              && v.severity().pages()
              && a.labels().get("pid").equals(v.labels().get("pid"))
              && a.labels().get("comm").equals(v.labels().get("comm"))
              && (match < 0 || v.kind() == Kind.CLOSE_WAIT)) {
            match = i;
          }
        }
      }
      if (match < 0) {
        verdicts.add(a);
        continue;
      }
      join(verdicts, match, a, sent);
    }
  }

  /** The listener a queue verdict is about: what its dedup key says after host and kind. */
  private static String listenerOf(Verdict v) {
    String prefix = v.host() + "/" + v.kind().tag() + "/";
    return v.dedupKey().startsWith(prefix) ? v.dedupKey().substring(prefix.length()) : v.dedupKey();
  }

  /**
   * Joins {@code a} with {@code verdicts.get(match)} into one incident: the verdict already paging
   * leads (keeps its name and key), the other becomes INFO, the summary carries both.
   */
  private static void join(List<Verdict> verdicts, int match, Verdict a, Predicate<String> sent) {
    {
      Verdict p = verdicts.get(match);
      boolean acceptLeads = sent.test(a.dedupKey()) && !sent.test(p.dedupKey());
      Verdict lead = acceptLeads ? a : p;
      Verdict other = acceptLeads ? p : a;
      Severity s =
          lead.severity().compareTo(other.severity()) >= 0 ? lead.severity() : other.severity();
      Map<String, String> labels = new HashMap<>(other.labels());
      labels.putAll(lead.labels());
      String tail = other.summary().substring(other.host().length() + 2);
      Verdict merged =
          new Verdict(
              lead.host(),
              lead.kind(),
              lead.subject(),
              s,
              lead.at(),
              lead.window(),
              lead.slopePerMin(),
              lead.value(),
              lead.limit(),
              lead.eta(),
              lead.since(),
              labels,
              lead.summary() + "; " + tail,
              lead.description() + " Same incident: " + tail + ".",
              lead.dedupKey());
      verdicts.set(match, acceptLeads ? other.withSeverity(Severity.INFO) : merged);
      verdicts.add(acceptLeads ? merged : other.withSeverity(Severity.INFO));
    }
  }

  /** The three values of net.ipv4.tcp_mem (low, pressure, max pages); null unless all parse. */
  static long[] tcpMem(String v) {
    if (v == null) return null;
    String[] parts = v.strip().split("\\s+");
    if (parts.length != 3) return null;
    long[] out = new long[3];
    try {
      for (int i = 0; i < 3; i++) out[i] = Long.parseLong(parts[i]);
    } catch (NumberFormatException e) {
      return null;
    }
    return out[2] > 0 ? out : null;
  }

  private void findings(HostWindow w, KernelTableWindow t, Instant at, List<Verdict> out) {
    Map<String, String> sc = w.sysctls;
    double somaxconn = PortPressureRule.parse(sc.get(SOMAXCONN));
    long widest = 0;
    for (var e : t.listeners.entrySet()) {
      KernelTableWindow.ListenerState l = e.getValue();
      if (l.lastMs != w.lastMs) continue;
      widest = Math.max(widest, l.backlog);
      if (somaxconn < findings.minSomaxconn() && l.backlog == somaxconn) {
        KernelTableWindow.ListenerKey key = e.getKey();
        String proc =
            (l.comm == null ? "?" : l.comm) + (key.pid() >= 0 ? "[" + key.pid() + "]" : "");
        out.add(
            SysctlFindingRule.finding(
                w,
                Kind.BACKLOG_CAPPED,
                proc + " " + key.local(),
                at,
                l.backlog,
                proc
                    + " "
                    + key.local()
                    + " backlog "
                    + count(l.backlog)
                    + " is capped by net.core.somaxconn = "
                    + count(somaxconn),
                "Its listen() asked for at least "
                    + count(somaxconn)
                    + " and the kernel silently cut it to net.core.somaxconn, which is low: its"
                    + " accept queue holds only "
                    + count(l.backlog)
                    + " connections, and a burst beyond it is dropped (ListenOverflows). Raise"
                    + " net.core.somaxconn (kernels since 5.4 default to 4096) and restart the"
                    + " listener: the backlog is fixed at listen() time."));
      }
    }
    double synBacklog = PortPressureRule.parse(sc.get(MAX_SYN_BACKLOG));
    if (widest > 0 && synBacklog < widest) {
      String cookies = sc.get(SYNCOOKIES);
      boolean cookiesOff = cookies != null && cookies.strip().equals("0");
      out.add(
          SysctlFindingRule.finding(
              w,
              Kind.SYN_BACKLOG,
              MAX_SYN_BACKLOG,
              at,
              synBacklog,
              MAX_SYN_BACKLOG
                  + " = "
                  + count(synBacklog)
                  + " is below the listeners' backlog of "
                  + count(widest),
              "Half-open connections (SYN_RECV) wait in each listener's SYN queue, bounded by its"
                  + " backlog; with net.ipv4.tcp_syncookies off the kernel also drops SYNs once"
                  + " the queue nears tcp_max_syn_backlog (TCPReqQFullDrop), so a listener never"
                  + " gets the backlog it asked for under a SYN burst."
                  + (cookiesOff
                      ? " Syncookies are off here: raise tcp_max_syn_backlog to at least the"
                          + " largest backlog, or turn syncookies on."
                      : " Syncookies answer instead while they are on (tcp_syncookies = "
                          + (cookies == null ? "?" : cookies.strip())
                          + "), at the cost of TCP options; raise tcp_max_syn_backlog to match.")));
    }
    double max = t.conntrackMax;
    if (Double.isNaN(max)) max = PortPressureRule.parse(sc.get(CONNTRACK_MAX));
    if (!Double.isNaN(max) && t.conntrack.lastMs() == w.lastMs) {
      double peak = peak(t.conntrack, w.lastBucket);
      double sockets = t.tcpFlowsMs == w.lastMs ? t.tcpFlows : 0;
      double need = Math.max(peak, sockets);
      if (need > 0 && max < findings.conntrackHeadroom() * need) {
        out.add(
            SysctlFindingRule.finding(
                w,
                Kind.CONNTRACK_MAX,
                CONNTRACK_MAX,
                at,
                max,
                "nf_conntrack_max "
                    + count(max)
                    + " leaves little room for this host's "
                    + count(need)
                    + " tracked flows",
                "The busiest moment in the window needed "
                    + count(need)
                    + " conntrack entries (the table's peak, or the host's TCP connections, each"
                    + " tracked while open and up to 120 s after it closes), less than "
                    + findings.conntrackHeadroom()
                    + "x below nf_conntrack_max "
                    + count(max)
                    + ". A traffic burst, a retry storm or a port scan fills the rest, and then"
                    + " every new flow is dropped. Raise net.netfilter.nf_conntrack_max (about 300"
                    + " bytes per entry) with nf_conntrack_buckets, or exempt busy local traffic"
                    + " with NOTRACK rules."));
      }
    }
    long[] mem = tcpMem(sc.get(TCP_MEM));
    if (mem != null && t.tcpMemPages.lastMs() == w.lastMs) {
      double peak = peak(t.tcpMemPages, w.lastBucket);
      if (peak >= findings.tcpMemPressureShare() * mem[1] || mem[2] <= mem[1]) {
        out.add(
            SysctlFindingRule.finding(
                w,
                Kind.TCP_MEM_HEADROOM,
                TCP_MEM,
                at,
                mem[1],
                TCP_MEM
                    + " = "
                    + mem[0]
                    + " "
                    + mem[1]
                    + " "
                    + mem[2]
                    + " leaves little headroom over TCP's "
                    + count(peak)
                    + " pages",
                "TCP buffers peaked at "
                    + count(peak)
                    + " pages in the window, "
                    + percent(peak, mem[1])
                    + " of the pressure threshold "
                    + count(mem[1])
                    + " (max "
                    + count(mem[2])
                    + "). Under pressure the kernel shrinks every socket's buffers, and at max it"
                    + " drops segments and kills connections. The kernel sizes tcp_mem from RAM at"
                    + " boot (pressure about 1/8 of memory): a value set by hand for a smaller"
                    + " machine, or many slow readers with large buffers, leave no room. Raise"
                    + " tcp_mem, or find the sockets holding buffers (ss -tm)."));
      }
    }
  }

  /** The highest sample in the window. */
  private double peak(SeriesWindow s, long now) {
    int n = buckets.count();
    double[] t = new double[n];
    double[] lo = new double[n];
    double[] hi = new double[n];
    int k = s.copy(buckets.first(now), now, t, lo, hi);
    double m = s.last();
    for (int i = 0; i < k; i++) m = Math.max(m, hi[i]);
    return m;
  }

  /** The page labels of a listener's verdicts: its owner's identity, pid, comm and address. */
  private static Map<String, String> listenerLabels(
      KernelTableWindow.ListenerKey key, KernelTableWindow.ListenerState l) {
    Map<String, String> labels = new HashMap<>(Owners.labels(l.identity));
    if (key.pid() >= 0) labels.put("pid", Integer.toString(key.pid()));
    labels.put("comm", l.comm == null ? "" : l.comm);
    labels.put("listen", key.local());
    return labels;
  }

  /** One listener among the host's: its process, address and, outside the host's own, netns. */
  /**
   * Keeps the listener's {@code used} against {@code limit} as the incident's baseline, so that it
   * resolves when the queue drains, or reads 0 once the listener is no longer sampled. The listener
   * is looked up by its key in the tables of the window judged, so that a window rebuilt under the
   * incident (a late warm-up) reads its own.
   */
  private void keepListenerBaseline(
      HostWindow w,
      Kind kind,
      String identity,
      KernelTableWindow.ListenerKey key,
      long limit,
      java.util.function.ToLongFunction<KernelTableWindow.ListenerState> used) {
    w.baselines.merge(
        w.host + "/" + kind.tag() + "/" + identity,
        new HostWindow.Baseline(
            0,
            limit,
            h -> {
              KernelTableWindow k = tables.get(h);
              KernelTableWindow.ListenerState l = k == null ? null : k.listeners.get(key);
              return l == null || l.lastMs < h.lastMs ? 0 : used.applyAsLong(l);
            },
            false),
        (a, b) -> a);
  }

  private static String listenerIdentity(String proc, KernelTableWindow.ListenerKey key) {
    return proc + "@" + key.local() + (key.netns() == 0 ? "" : "@" + key.netns());
  }
}

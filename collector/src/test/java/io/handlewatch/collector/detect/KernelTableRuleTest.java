package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.evaluation.TableTrace;
import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kernel tables through the whole engine, from hand-built reports every 10 s. */
class KernelTableRuleTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  final List<Alert> alerts = new ArrayList<>();

  DetectionEngine engine() {
    return new DetectionEngine(new DetectionFactory().build(), alerts::add, p -> {}, h -> Map.of());
  }

  static List<HostReport> trace(String host, TableTrace tables, double minutes, Process... ps) {
    TraceGenerator g = new TraceGenerator(host, T0, 3);
    for (Process p : ps) g.add(p);
    return tables.apply(g.generate(minutes), T0, 3);
  }

  /** Feeds the reports; returns the verdicts of the last one. */
  List<Verdict> run(DetectionEngine e, List<HostReport> reports) {
    List<Verdict> last = List.of();
    for (HostReport r : reports) last = e.evaluate(r);
    return last;
  }

  List<Alert> firing(String alertname) {
    return alerts.stream()
        .filter(a -> a.status() == Alert.Status.FIRING)
        .filter(a -> a.labels().get("alertname").equals(alertname))
        .toList();
  }

  @Test
  void conntrackGrowingTowardsItsMaxPagesOnceWithAnEta() {
    TableTrace t = new TableTrace();
    // Flat at 40,000 for 20 min, then +2,000/min: 262,144 reached around minute 131.
    t.conntrack = (m, r) -> 40_000 + 2_000 * Math.max(0, m - 20) + r.nextInt(200);
    DetectionEngine e = engine();
    List<Verdict> last = run(e, trace("ct", t, 60, new Process[0]));

    Verdict v = last.stream().filter(x -> x.kind() == Kind.CONNTRACK).findFirst().orElseThrow();
    assertThat(v.severity()).isEqualTo(Severity.WARNING);
    assertThat(v.limit()).isEqualTo(262_144.0);
    assertThat(v.slopePerMin()).isBetween(1_700.0, 2_300.0);
    assertThat(v.eta().toMinutes()).isBetween(55L, 90L);
    assertThat(v.summary())
        .startsWith("ct: ")
        .contains("conntrack entries of nf_conntrack_max 262,144")
        .contains("exhausted in about");
    assertThat(v.description()).contains("nf_conntrack: table full, dropping packet");
    assertThat(firing("ConntrackTableRunningOut")).hasSize(1);
    assertThat(firing("ConntrackTableRunningOut").getFirst().annotations().get("runbook_url"))
        .isEqualTo("RUNBOOK.md#conntrack");
  }

  @Test
  void flatNearTheLimitIsNoEtaButAbove90PercentIsCritical() {
    TableTrace below = new TableTrace();
    below.conntrack = TraceGenerator.jitter(0.85 * 262_144, 300);
    run(engine(), trace("flat", below, 60));
    assertThat(firing("ConntrackTableRunningOut")).isEmpty();

    TableTrace above = new TableTrace();
    above.conntrack = TraceGenerator.jitter(0.95 * 262_144, 300);
    List<Verdict> last = run(engine(), trace("full", above, 30));
    assertThat(last)
        .filteredOn(v -> v.kind() == Kind.CONNTRACK)
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
              assertThat(v.eta()).isNull();
            });
    assertThat(firing("ConntrackTableRunningOut")).hasSize(1);
  }

  @Test
  void orphansAndTcpMemoryPageAgainstTheirSysctls() {
    TableTrace t = new TableTrace();
    t.maxOrphans = 16_384;
    t.orphans = (m, r) -> 50 + 400 * Math.max(0, m - 20) + r.nextInt(10);
    // tcp_mem 188067 250758 376134: over pressure and growing, max in under an hour.
    t.memPages = (m, r) -> 200_000 + 3_000 * Math.max(0, m - 20) + r.nextInt(100);
    List<Verdict> last = run(engine(), trace("mem", t, 45));

    Verdict orphans = only(last, Kind.ORPHANS);
    assertThat(orphans.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(orphans.summary()).contains("orphaned TCP sockets of tcp_max_orphans 16,384");
    assertThat(orphans.description()).contains("too many orphaned sockets");

    Verdict mem = only(last, Kind.TCP_MEMORY);
    assertThat(mem.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(mem.limit()).isEqualTo(376_134.0);
    assertThat(mem.summary()).contains("pages of tcp_mem max 376,134").contains("under pressure");
    assertThat(mem.description()).contains("TCP: out of memory -- consider tuning tcp_mem");
    assertThat(firing("OrphanSocketsRunningOut")).hasSize(1);
    assertThat(firing("TcpMemoryRunningOut")).hasSize(1);
  }

  @Test
  void tcpMemoryPastPressureWithoutGrowthIsAWarning() {
    TableTrace t = new TableTrace();
    t.memPages = TraceGenerator.jitter(260_000, 500);
    Verdict mem = only(run(engine(), trace("pressure", t, 30)), Kind.TCP_MEMORY);
    assertThat(mem.severity()).isEqualTo(Severity.WARNING);
    assertThat(mem.eta()).isNull();
  }

  @Test
  void aSaturatedAcceptQueuePagesOnceNamingProcessAndPortAndResolvesWhenDrained() {
    TableTrace t = new TableTrace();
    Curve queue = (m, r) -> m >= 10 && m < 20 ? 128 : r.nextInt(3);
    t.listen(new TableTrace.Listen("0.0.0.0:443", 812, "nginx", 128, queue, 340));
    DetectionEngine e = engine();
    List<HostReport> reports = trace("web", t, 40);
    List<Verdict> during = List.of();
    for (HostReport r : reports) {
      List<Verdict> v = e.evaluate(r);
      if (r.getSample().getTime().getSeconds() <= T0.plusSeconds(60 * 19 + 30).getEpochSecond()) {
        during = v;
      }
    }
    Verdict v = only(during, Kind.ACCEPT_QUEUE);
    assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(v.summary())
        .matches(
            "web: nginx\\[812\\] :443 accept queue 128/128 full, 3[0-9]{2} overflows/min since"
                + " 2026-11-20T08:09:(49|5\\d)Z");
    assertThat(v.labels())
        .containsEntry("pid", "812")
        .containsEntry("comm", "nginx")
        .containsEntry("listen", "0.0.0.0:443");
    List<Alert> pages = firing("AcceptQueueOverflowing");
    assertThat(pages).hasSize(1);
    assertThat(pages.getFirst().labels()).containsEntry("severity", "critical");
    assertThat(pages.getFirst().annotations().get("runbook_url"))
        .isEqualTo("RUNBOOK.md#accept_queue");
    // Drained at minute 20. The queue was full in most of the last 20 samples for 3 min more (the
    // "often full" warning holds the incident); then released, resolved 1 min later.
    Alert resolved =
        alerts.stream()
            .filter(a -> a.status() == Alert.Status.RESOLVED)
            .filter(a -> a.labels().get("alertname").equals("AcceptQueueOverflowing"))
            .findFirst()
            .orElseThrow();
    assertThat(resolved.at()).isBetween(T0.plusSeconds(60 * 21), T0.plusSeconds(60 * 25));
  }

  @Test
  void aQueueOnlyOftenFullIsAWarning() {
    TableTrace t = new TableTrace();
    // Full one sample in three: never three in a row.
    Curve queue = (m, r) -> Math.round(m * 6) % 3 == 0 ? 64 : 10;
    t.listen(new TableTrace.Listen("127.0.0.1:5432", 900, "postgres", 64, queue, 60));
    Verdict v = only(run(engine(), trace("db", t, 15)), Kind.ACCEPT_QUEUE);
    assertThat(v.severity()).isEqualTo(Severity.WARNING);
    assertThat(v.summary()).contains("postgres[900] 127.0.0.1:5432 accept queue often full");
  }

  @Test
  void anAcceptQueueOverflowAndTheSameProcesssCloseWaitLeakAreOneIncident() {
    TableTrace t = new TableTrace();
    Curve queue = (m, r) -> m >= 25 ? 128 : 1;
    t.listen(new TableTrace.Listen("0.0.0.0:8080", 4121, "java", 128, queue, 120));
    Curve cw = (m, r) -> 2 + 60 * Math.max(0, m - 20);
    Curve fds = (m, r) -> 1_000 + cw.at(m, r);
    List<HostReport> reports =
        trace("app", t, 35, new Process(4121, 9, "java", 65_536, fds, cw, "10.0.0.5:5432", 0, 1e9));
    List<Verdict> last = run(engine(), reports);

    assertThat(alerts).filteredOn(a -> a.status() == Alert.Status.FIRING).hasSize(1);
    Alert page = alerts.getFirst();
    assertThat(page.labels()).containsEntry("alertname", "CloseWaitGrowing");
    Verdict cwv = only(last, Kind.CLOSE_WAIT);
    assertThat(cwv.summary()).contains("; java[4121] :8080 accept queue 128/128 full");
    assertThat(cwv.labels()).containsEntry("listen", "0.0.0.0:8080");
    assertThat(only(last, Kind.ACCEPT_QUEUE).severity()).isEqualTo(Severity.INFO);
  }

  @Test
  void findingsExplainTheSysctlsBehindTheTables() {
    TableTrace t = new TableTrace();
    t.somaxconn = 128;
    t.maxSynBacklog = 64;
    t.conntrackMax = 65_536;
    t.conntrack = TraceGenerator.jitter(40_000, 500);
    t.tcpMem = "20000 30000 40000";
    t.memPages = TraceGenerator.jitter(18_000, 100);
    t.listen(new TableTrace.Listen("0.0.0.0:80", 77, "nginx", 128, Curve.constant(3), 0));
    List<Verdict> last = run(engine(), trace("tuned", t, 20));

    assertThat(only(last, Kind.BACKLOG_CAPPED).summary())
        .contains("nginx[77] 0.0.0.0:80 backlog 128 is capped by net.core.somaxconn = 128");
    assertThat(only(last, Kind.SYN_BACKLOG).summary())
        .contains("net.ipv4.tcp_max_syn_backlog = 64 is below the listeners' backlog of 128");
    assertThat(only(last, Kind.CONNTRACK_MAX).description()).contains("NOTRACK");
    assertThat(only(last, Kind.TCP_MEM_HEADROOM).summary())
        .contains("net.ipv4.tcp_mem = 20000 30000 40000 leaves little headroom");
    assertThat(last).filteredOn(v -> v.severity().pages()).isEmpty();

    // The same host with roomy settings has none of them.
    List<Verdict> roomy =
        run(
            engine(),
            trace(
                "roomy",
                new TableTrace()
                    .listen(
                        new TableTrace.Listen(
                            "0.0.0.0:80", 77, "nginx", 4096, Curve.constant(3), 0)),
                20));
    assertThat(roomy)
        .extracting(Verdict::kind)
        .doesNotContain(
            Kind.BACKLOG_CAPPED, Kind.SYN_BACKLOG, Kind.CONNTRACK_MAX, Kind.TCP_MEM_HEADROOM);
  }

  @Test
  void aSynQueueHeldAtItsCapPagesOnceNamingProcessAndPortAndResolvesWhenDrained() {
    TableTrace t = new TableTrace();
    t.listen(new TableTrace.Listen("0.0.0.0:443", 812, "nginx", 128, Curve.constant(2), 0));
    // Final ACKs lost from minute 10 to 20: requests pile up to the backlog and stay.
    t.syn("0.0.0.0:443", (m, r) -> m >= 10 && m < 20 ? 500 : r.nextInt(3));
    t.synRefusedPerMin = 600;
    DetectionEngine e = engine();
    List<Verdict> during = List.of();
    for (HostReport r : trace("web", t, 40)) {
      List<Verdict> v = e.evaluate(r);
      if (r.getSample().getTime().getSeconds() <= T0.plusSeconds(60 * 19 + 30).getEpochSecond()) {
        during = v;
      }
    }
    Verdict v = only(during, Kind.SYN_QUEUE);
    assertThat(v.severity())
        .as("cookies answer: clients still connect")
        .isEqualTo(Severity.WARNING);
    assertThat(v.summary())
        .matches(
            "web: nginx\\[812\\] :443 SYN queue 128/128 full, [56][0-9]{2} SYNs answered with"
                + " syncookies/min since 2026-11-20T08:09:(49|5\\d)Z");
    assertThat(v.description()).contains("Possible SYN flooding on port");
    assertThat(v.labels()).containsEntry("pid", "812").containsEntry("listen", "0.0.0.0:443");
    assertThat(v.limit()).isEqualTo(128.0);
    List<Alert> pages = firing("SynQueueOverflowing");
    assertThat(pages).hasSize(1);
    assertThat(pages.getFirst().annotations().get("runbook_url")).isEqualTo("RUNBOOK.md#syn_queue");
    assertThat(firing("AcceptQueueOverflowing")).as("the accept queue stayed empty").isEmpty();
    Alert resolved =
        alerts.stream()
            .filter(a -> a.status() == Alert.Status.RESOLVED)
            .filter(a -> a.labels().get("alertname").equals("SynQueueOverflowing"))
            .findFirst()
            .orElseThrow();
    assertThat(resolved.at()).isBetween(T0.plusSeconds(60 * 20), T0.plusSeconds(60 * 25));
  }

  @Test
  void withSyncookiesOffTheCapIsThreeQuartersOfTcpMaxSynBacklogAndDropsAreCritical() {
    TableTrace t = new TableTrace();
    t.syncookies = "0";
    t.maxSynBacklog = 256; // cap min(4096, 256 - 64 + 1) = 193
    t.listen(new TableTrace.Listen("[::]:8443", 31, "envoy", 4096, Curve.constant(0), 0));
    t.syn("[::]:8443", (m, r) -> m >= 5 ? 4096 : 10);
    Verdict v = only(run(engine(), trace("edge", t, 10)), Kind.SYN_QUEUE);
    assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(v.summary()).contains("envoy[31] :8443 SYN queue 193/193 full").contains("dropped");
    assertThat(v.description()).contains("three quarters of net.ipv4.tcp_max_syn_backlog 256");
  }

  @Test
  void synBurstsThatDrainAndAFullQueueWithNoRefusalCountedDoNotPage() {
    TableTrace bursts = new TableTrace();
    bursts.listen(new TableTrace.Listen("0.0.0.0:80", 5, "haproxy", 512, Curve.constant(1), 0));
    // At the cap for one or two samples every 5 min, then empty.
    bursts.syn("0.0.0.0:80", (m, r) -> m % 5 < 0.3 ? 512 : r.nextInt(40));
    run(engine(), trace("lb", bursts, 40));
    assertThat(alerts).isEmpty();

    TableTrace quiet = new TableTrace();
    quiet.synRefusedPerMin = 0;
    quiet.listen(new TableTrace.Listen("0.0.0.0:80", 5, "haproxy", 16, Curve.constant(1), 0));
    quiet.syn("0.0.0.0:80", Curve.constant(16));
    List<Verdict> last = run(engine(), trace("lb2", quiet, 10));
    assertThat(last).extracting(Verdict::kind).doesNotContain(Kind.SYN_QUEUE);
    assertThat(alerts).isEmpty();
  }

  @Test
  void theSynQueueAndTheAcceptQueueOfOneListenerAreOneIncident() {
    TableTrace t = new TableTrace();
    t.listen(
        new TableTrace.Listen("0.0.0.0:8080", 4121, "java", 128, (m, r) -> m >= 5 ? 128 : 1, 90));
    t.syn("0.0.0.0:8080", (m, r) -> m >= 5 ? 128 : 0);
    List<Verdict> last = run(engine(), trace("app", t, 12));
    assertThat(alerts).filteredOn(a -> a.status() == Alert.Status.FIRING).hasSize(1);
    Verdict accept = only(last, Kind.ACCEPT_QUEUE);
    assertThat(accept.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(accept.summary())
        .contains("java[4121] :8080 accept queue 128/128 full")
        .contains("; java[4121] :8080 SYN queue 128/128 full");
    assertThat(only(last, Kind.SYN_QUEUE).severity()).isEqualTo(Severity.INFO);
  }

  @Test
  void eachNamespacesConntrackIsJudgedAgainstTheGlobalMaxAndItsPageNamesThePod() {
    TableTrace t = new TableTrace();
    t.conntrackMax = 65_536;
    t.conntrack = TraceGenerator.jitter(3_000, 50); // the host's own table is nearly empty
    t.namespaceConntrack.put("cart-7d9f", TraceGenerator.jitter(0.95 * 65_536, 100));
    t.namespaceConntrack.put("quiet-1", TraceGenerator.jitter(200, 10));
    List<Verdict> last = run(engine(), trace("node", t, 30));
    List<Verdict> ct = last.stream().filter(v -> v.kind() == Kind.CONNTRACK).toList();
    assertThat(ct).as("only the full namespace").singleElement();
    Verdict v = ct.getFirst();
    assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(v.subject()).isEqualTo("netns cart-7d9f (cart-7d9f)");
    assertThat(v.summary())
        .startsWith("node: netns cart-7d9f (cart-7d9f) ")
        .contains("conntrack entries of nf_conntrack_max 65,536");
    assertThat(v.description()).contains("per namespace").contains("global nf_conntrack_max");
    assertThat(v.labels())
        .containsEntry("netns", "cart-7d9f")
        .containsEntry("namespace", "shop")
        .containsEntry("pod", "cart-7d9f");
    assertThat(v.dedupKey()).isEqualTo("node/conntrack/netns:4026532100");
    List<Alert> pages = firing("ConntrackTableRunningOut");
    assertThat(pages).hasSize(1);
    assertThat(pages.getFirst().labels()).containsEntry("pod", "cart-7d9f");
  }

  private static Verdict only(List<Verdict> verdicts, Kind kind) {
    List<Verdict> of = verdicts.stream().filter(v -> v.kind() == kind).toList();
    assertThat(of).as(kind + " in " + verdicts).hasSize(1);
    return of.getFirst();
  }
}

package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.evaluation.TableTrace;
import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DetectionEngineTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  final List<Alert> alerts = new ArrayList<>();
  final List<StoredPoint> points = new ArrayList<>();

  DetectionEngine engine(Map<String, String> known) {
    return new DetectionEngine(
        new DetectionFactory().build(), alerts::add, points::addAll, h -> known);
  }

  /**
   * A java process leaking CLOSE_WAIT at 1/s from minute 20 until minute {@code stop}, when it
   * closes them all.
   */
  static List<HostReport> leak(String host, double stop, double minutes) {
    Curve cw = (m, r) -> m < stop ? 2 + 60 * Math.max(0, m - 20) : 2;
    Curve fds = (m, r) -> 1_000 + cw.at(m, r);
    return new TraceGenerator(host, T0, 1)
        .add(new Process(4121, 9, "java", 65_536, fds, cw, "10.0.0.5:5432", 0, 1e9))
        .generate(minutes);
  }

  @Test
  void aLeakWritesVerdictPointsWhileActiveAndAnOkPointWhenItClears() {
    DetectionEngine e = engine(Map.of());
    for (HostReport r : leak("h1", 30, 60)) e.evaluate(r);

    List<StoredPoint> cw =
        points.stream().filter(p -> p.tags().get("kind").equals("close_wait")).toList();
    assertThat(cw).isNotEmpty();
    StoredPoint first = cw.getFirst();
    assertThat(first.measurement()).isEqualTo("verdict");
    assertThat(first.tags()).containsEntry("host", "h1").containsEntry("subject", "java[4121]");
    assertThat(first.fields())
        .containsEntry("severity", "critical")
        .containsKeys("slope_per_min", "value", "limit", "eta_seconds");
    assertThat((Double) first.fields().get("slope_per_min")).isBetween(50.0, 70.0);
    // The incident it keeps firing goes along, for a collector that gains the host.
    assertThat(
            StoredIncidents.open(List.of(first), first.time(), java.time.Duration.ofMinutes(1))
                .incidents())
        .singleElement()
        .satisfies(
            h -> {
              assertThat(h.labels()).isEqualTo(alerts.getFirst().labels());
              assertThat(h.startsAt()).isEqualTo(alerts.getFirst().startsAt());
              assertThat(h.dedupKey()).isEqualTo(alerts.getFirst().dedupKey());
            });
    assertThat(cw.getLast().fields()).isEqualTo(Map.of("severity", "ok"));
    assertThat(cw.stream().filter(p -> p.fields().get("severity").equals("ok"))).hasSize(1);

    assertThat(alerts)
        .extracting(Alert::status)
        .containsExactly(Alert.Status.FIRING, Alert.Status.RESOLVED);
    // Released at 30 min: resolved once the count has stayed back at its baseline for a minute.
    assertThat(alerts.getLast().at()).isBetween(T0.plusSeconds(60 * 31), T0.plusSeconds(60 * 33));
    assertThat(e.view().activeAlerts()).isEmpty();
  }

  @Test
  void theViewShowsVerdictsWithEvidenceAndActiveAlerts() {
    DetectionEngine e = engine(Map.of());
    for (HostReport r : leak("h2", 1e9, 25)) e.evaluate(r);

    assertThat(e.view().activeAlerts()).hasSize(1);
    assertThat(e.view().activeAlerts("h2")).hasSize(1);
    assertThat(e.view().activeAlerts("other")).isEmpty();
    Verdict v = e.view().verdicts("h2").getFirst();
    assertThat(v.kind()).isEqualTo(Kind.CLOSE_WAIT);
    assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(v.since()).isBetween(T0.plusSeconds(60 * 19), T0.plusSeconds(60 * 21));
    assertThat(v.labels()).containsEntry("remote", "10.0.0.5:5432");
    assertThat(e.view().allVerdicts()).contains(v);
  }

  @Test
  void aRestartedProcessStartsAFreshWindow() {
    // The same pid and comm, a new start time: the old one's history must not make a trend.
    DetectionEngine e = engine(Map.of());
    var g = new TraceGenerator("h3", T0, 2);
    g.add(
        new Process(700, 1, "java", 65_536, Curve.constant(9_000), Curve.constant(0), null, 0, 30));
    g.add(
        new Process(700, 2, "java", 65_536, Curve.constant(100), Curve.constant(0), null, 30, 1e9));
    for (HostReport r : g.generate(60)) e.evaluate(r);
    assertThat(alerts).isEmpty();
    assertThat(e.view().verdicts("h3")).isEmpty();
  }

  @Test
  void sysctlFindingsUseTheLastKnownSysctlsWhenReportsCarryNone() {
    Map<String, String> known =
        Map.of(
            "net.ipv4.tcp_tw_recycle", "1",
            "net.core.somaxconn", "128",
            "net.ipv4.tcp_fin_timeout", "15");
    DetectionEngine e = engine(known);
    HostReport r = leak("h4", 0, 0).getFirst();
    HostReport bare = r.toBuilder().setSample(r.getSample().toBuilder().clearSysctls()).build();
    e.evaluate(bare);

    assertThat(e.view().findings("h4"))
        .extracting(Verdict::kind)
        .containsExactlyInAnyOrder(Kind.TCP_TW_RECYCLE, Kind.LOW_SOMAXCONN, Kind.FIN_TIMEOUT);
    assertThat(points)
        .filteredOn(p -> p.fields().get("severity").equals("info"))
        .extracting(p -> p.tags().get("kind"))
        .containsExactlyInAnyOrder("tcp_tw_recycle", "low_somaxconn", "tcp_fin_timeout");

    // A finding is stored when it appears, not again on every report; its end is stored once.
    points.clear();
    HostReport fixed =
        bare.toBuilder()
            .setSeq(2)
            .setSample(
                bare.getSample().toBuilder()
                    .setTime(io.handlewatch.collector.testing.TestReports.ts(T0.plusSeconds(10)))
                    .addSysctls(
                        Sysctl.newBuilder().setName("net.ipv4.tcp_tw_recycle").setValue("0"))
                    .addSysctls(Sysctl.newBuilder().setName("net.core.somaxconn").setValue("128"))
                    .addSysctls(
                        Sysctl.newBuilder().setName("net.ipv4.tcp_fin_timeout").setValue("15")))
            .build();
    e.evaluate(fixed);
    assertThat(points)
        .extracting(p -> p.tags().get("kind") + "=" + p.fields().get("severity"))
        .containsExactly("tcp_tw_recycle=ok");
  }

  @Test
  void portsUsedUpByTheLeakedSocketsAreTheCloseWaitIncidentNotASecondPage() {
    // Each leaked CLOSE_WAIT socket is an outgoing connection: it holds an ephemeral port towards
    // the same remote, so port pressure to 10.0.0.5:5432 grows exactly as fast as the leak.
    DetectionEngine e = engine(Map.of());
    for (HostReport r : leak("h7", 1e9, 45)) {
      var s = r.getSample();
      long cw = s.getTcp().getTotal().getCloseWait();
      var pp = s.getPortPressure().toBuilder();
      pp.setTop(0, pp.getTop(0).toBuilder().setInUse(9_000 + cw));
      e.evaluate(r.toBuilder().setSample(s.toBuilder().setPortPressure(pp)).build());
    }

    assertThat(alerts)
        .as("one page for the incident")
        .extracting(a -> a.labels().get("alertname"))
        .containsExactly("CloseWaitGrowing");
    assertThat(e.view().verdicts("h7"))
        .filteredOn(v -> v.kind() == Kind.PORT_PRESSURE)
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.severity()).isEqualTo(Severity.INFO);
              assertThat(v.eta()).as("still judged, with its ETA").isNotNull();
            });
  }

  @Test
  void socketHeavyProcessesOnTheDefaultNofileAndNarrowPortRangesAreFindings() {
    DetectionEngine e = engine(Map.of());
    var g = new TraceGenerator("h5", T0, 3);
    g.add(new Process(900, 1, "node", 1_024, Curve.constant(900), Curve.constant(0), null, 0, 1e9));
    HostReport r = g.generate(0).getFirst();
    var pp = r.getSample().getPortPressure().toBuilder();
    pp.setTop(0, pp.getTop(0).toBuilder().setInUse(9_000).setTimeWait(8_000));
    r = r.toBuilder().setSample(r.getSample().toBuilder().setPortPressure(pp)).build();
    e.evaluate(r);

    assertThat(e.view().findings("h5"))
        .extracting(Verdict::kind, Verdict::subject)
        .contains(
            org.assertj.core.groups.Tuple.tuple(Kind.LOW_NOFILE, "node[900]"),
            org.assertj.core.groups.Tuple.tuple(Kind.NARROW_PORT_RANGE, "10.0.0.5:5432"));
  }

  @Test
  void fleetDriftIsAFindingOfTheHostThatDiffers() {
    DetectionEngine e = engine(Map.of());
    for (String h : List.of("a", "b", "c")) {
      HostReport r = leak(h, 0, 0).getFirst();
      if (h.equals("c")) {
        var s = r.getSample().toBuilder().clearSysctls();
        for (Sysctl sc : r.getSample().getSysctlsList()) {
          s.addSysctls(
              sc.getName().equals("net.ipv4.tcp_tw_reuse")
                  ? sc.toBuilder().setValue("0").build()
                  : sc);
        }
        r = r.toBuilder().setSample(s).build();
      }
      e.evaluate(r);
    }
    // c was evaluated last, when a and b already made the majority.
    assertThat(e.view().findings("c"))
        .extracting(Verdict::kind, Verdict::subject)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Kind.SYSCTL_DRIFT, "net.ipv4.tcp_tw_reuse"));
    assertThat(e.view().drift())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.majority()).isEqualTo("2");
              assertThat(d.differing()).isEqualTo(Map.of("c", "0"));
            });
  }

  @Test
  void aLateReportFillsTheWindowWithoutAVerdict() {
    DetectionEngine e = engine(Map.of());
    List<HostReport> reports = leak("h6", 1e9, 25);
    for (HostReport r : reports) e.evaluate(r);
    int before = alerts.size();
    assertThat(e.evaluate(reports.get(10))).isEmpty();
    assertThat(alerts).hasSize(before);
  }

  /**
   * A window rebuilt under open incidents, as a late warm-up rebuilds it (the host's history, then
   * the reports judged since), changes no page, whenever it comes: each incident keeps the level it
   * grew from and reads its value in the new window (a process by pid and start time, a listener by
   * its address), so it resolves when the leaked handles are released, not a quiet period later nor
   * at once.
   */
  @Test
  void aWindowRebuiltUnderOpenIncidentsChangesNoPage() {
    TableTrace queue = new TableTrace();
    queue.listen(
        new TableTrace.Listen(
            "0.0.0.0:443",
            812,
            "nginx",
            128,
            (m, r) -> m >= 10 && m < 20 ? 128 : r.nextInt(3),
            340));
    Map<String, List<HostReport>> traces =
        Map.of(
            "CLOSE_WAIT leak, closed at minute 45",
            leak("h7", 45, 60),
            "accept queue full, drained at minute 20",
            KernelTableRuleTest.trace("web", queue, 35));
    for (var t : traces.entrySet()) {
      List<HostReport> reports = t.getValue();
      List<Alert> reference = alertsRebuiltAt(reports, -1);
      assertThat(reference)
          .as(t.getKey())
          .extracting(Alert::status)
          .containsExactly(Alert.Status.FIRING, Alert.Status.RESOLVED);
      int rebuilds = 0;
      for (int i = 1; i < reports.size(); i += 4) {
        if (ReportPoints.timeOf(reports.get(i)).isBefore(reference.getFirst().at())) {
          continue;
        }
        assertThat(alertsRebuiltAt(reports, i))
            .as("%s, rebuilt before report %d", t.getKey(), i)
            .isEqualTo(reference);
        rebuilds++;
      }
      assertThat(rebuilds).isGreaterThan(30);
    }
  }

  /**
   * The alerts of a fresh engine fed {@code reports}, its window rebuilt before report {@code at}.
   */
  static List<Alert> alertsRebuiltAt(List<HostReport> reports, int at) {
    List<Alert> out = new ArrayList<>();
    DetectionEngine e =
        new DetectionEngine(new DetectionFactory().build(), out::add, p -> {}, h -> Map.of());
    for (int i = 0; i < reports.size(); i++) {
      HostReport r = reports.get(i);
      if (i == at) e.warm(ReportPoints.hostOf(r), reports.subList(0, i), List.of());
      e.evaluate(r);
    }
    return out;
  }
}

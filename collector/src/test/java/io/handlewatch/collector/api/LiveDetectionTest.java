package io.handlewatch.collector.api;

import static io.handlewatch.collector.detect.DetectionViews.verdict;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionViews;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.Severity;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The API's adapter over the detector's view: what each verdict, finding and drift becomes. */
class LiveDetectionTest {
  static final Instant AT = Instant.parse("2026-11-24T10:00:00Z");
  static final Instant SINCE = AT.minus(Duration.ofMinutes(12));

  static final Map<String, String> FLEET =
      Map.of("net.core.somaxconn", "4096", "net.ipv4.tcp_tw_recycle", "0");

  @Test
  void verdictsKeepTheirEvidenceInfoIncludedAndOkLeftOut() {
    var views =
        new DetectionViews(3)
            .host(
                "db-17",
                AT,
                List.of(
                    verdict(
                        "db-17",
                        Kind.CLOSE_WAIT,
                        "java[4121]",
                        Severity.CRITICAL,
                        AT,
                        40.0,
                        3812,
                        65536.0,
                        Duration.ofMinutes(110),
                        SINCE,
                        Map.of("pid", "4121", "comm", "java", "remote", "10.0.0.5:5432")),
                    verdict(
                        "db-17",
                        Kind.SYSTEM_FDS,
                        "db-17",
                        Severity.INFO,
                        AT,
                        2.5,
                        9000,
                        2466170.0,
                        Duration.ofDays(600),
                        SINCE,
                        Map.of()),
                    verdict(
                        "db-17",
                        Kind.PORT_PRESSURE,
                        "10.0.0.5:5432",
                        Severity.OK,
                        AT,
                        null,
                        Double.NaN,
                        null,
                        null,
                        null,
                        Map.of())),
                List.of());
    List<VerdictView> out = new LiveDetection(views.view()).verdicts("db-17");

    assertThat(out).extracting(VerdictView::kind).containsExactly("close_wait", "system_fds");
    VerdictView cw = out.getFirst();
    assertThat(cw.host()).isEqualTo("db-17");
    assertThat(cw.subject()).isEqualTo("java[4121]");
    assertThat(cw.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(cw.etaSeconds()).isEqualTo(6600.0);
    assertThat(cw.slopePerMin()).isEqualTo(40.0);
    assertThat(cw.value()).isEqualTo(3812.0);
    assertThat(cw.limit()).isEqualTo(65536.0);
    assertThat(cw.windowSeconds()).isEqualTo(720L);
    assertThat(cw.since()).isEqualTo(SINCE);
    assertThat(cw.at()).isEqualTo(AT);
    assertThat(cw.summary()).isEqualTo("db-17: close_wait of java[4121]");
    assertThat(out.get(1).severity()).isEqualTo(Severity.INFO);

    assertThat(new LiveDetection(views.view()).verdicts("nobody")).isEmpty();
  }

  @Test
  void aVerdictWithoutValueOrTrendLeavesThemOut() {
    var views =
        new DetectionViews(3)
            .host(
                "h",
                AT,
                List.of(
                    verdict(
                        "h",
                        Kind.PROCESS_FDS,
                        "java[1]",
                        Severity.CRITICAL,
                        AT,
                        null,
                        Double.NaN,
                        null,
                        null,
                        null,
                        Map.of())),
                List.of());
    VerdictView v = new LiveDetection(views.view()).verdicts("h").getFirst();
    assertThat(v.value()).isNull();
    assertThat(v.etaSeconds()).isNull();
    assertThat(v.slopePerMin()).isNull();
    assertThat(v.windowSeconds()).isNull();
    assertThat(v.since()).isNull();
  }

  private static io.handlewatch.collector.detect.Verdict finding(
      String host, Kind kind, String subject, double value) {
    return verdict(host, kind, subject, Severity.INFO, AT, null, value, null, null, null, Map.of());
  }

  @Test
  void findingsNameTheSettingItsValueAndWhatToPrefer() {
    var views =
        new DetectionViews(3)
            .sysctls("a", FLEET)
            .sysctls("b", FLEET)
            .sysctls("c", FLEET)
            .sysctls("odd", Map.of("net.core.somaxconn", "128", "net.ipv4.tcp_tw_recycle", "1"))
            .host(
                "odd",
                AT,
                List.of(),
                List.of(
                    finding("odd", Kind.TCP_TW_RECYCLE, "net.ipv4.tcp_tw_recycle", 1),
                    finding("odd", Kind.LOW_SOMAXCONN, "net.core.somaxconn", 128),
                    finding("odd", Kind.FIN_TIMEOUT, "net.ipv4.tcp_fin_timeout", 30),
                    finding("odd", Kind.NARROW_PORT_RANGE, "10.0.0.5:5432", 28232),
                    finding("odd", Kind.LOW_NOFILE, "java[4121]", 1024),
                    finding("odd", Kind.SYSCTL_DRIFT, "net.core.somaxconn", 128),
                    finding("odd", Kind.SYSCTL_DRIFT, "net.ipv4.tcp_tw_recycle", 1)));
    List<SysctlFinding> out = new LiveDetection(views.view()).sysctlFindings("odd");

    assertThat(out)
        .extracting(
            SysctlFinding::finding,
            SysctlFinding::name,
            SysctlFinding::subject,
            SysctlFinding::value,
            SysctlFinding::recommended)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "tcp_tw_recycle", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_tw_recycle", "1", "0"),
            org.assertj.core.groups.Tuple.tuple(
                "low_somaxconn", "net.core.somaxconn", "net.core.somaxconn", "128", "4096"),
            org.assertj.core.groups.Tuple.tuple(
                "tcp_fin_timeout",
                "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_fin_timeout",
                "30",
                null),
            // The finding carries the range's size, not the sysctl's value ("32768 60999").
            org.assertj.core.groups.Tuple.tuple(
                "narrow_port_range", "net.ipv4.ip_local_port_range", "10.0.0.5:5432", null, null),
            org.assertj.core.groups.Tuple.tuple(
                "low_nofile", "RLIMIT_NOFILE", "java[4121]", "1024", null),
            // Drift: the host's value as it sent it, and the fleet's as the one to prefer.
            org.assertj.core.groups.Tuple.tuple(
                "sysctl_drift", "net.core.somaxconn", "net.core.somaxconn", "128", "4096"),
            org.assertj.core.groups.Tuple.tuple(
                "sysctl_drift", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_tw_recycle", "1", "0"));
    assertThat(out.getFirst().host()).isEqualTo("odd");
    assertThat(out.getFirst().summary())
        .isEqualTo("odd: tcp_tw_recycle of net.ipv4.tcp_tw_recycle");
    assertThat(out.getFirst().message()).isEqualTo("evidence of net.ipv4.tcp_tw_recycle");
    assertThat(new LiveDetection(views.view()).sysctlFindings("a")).isEmpty();
  }

  @Test
  void driftListsTheMajorityAndTheHostsThatDiffer() {
    var views =
        new DetectionViews(3)
            .sysctls("a", FLEET)
            .sysctls("b", FLEET)
            .sysctls("c", Map.of("net.core.somaxconn", "4096", "net.ipv4.tcp_tw_recycle", "1"))
            .sysctls("d", Map.of("net.core.somaxconn", "128", "net.ipv4.tcp_tw_recycle", "1"));
    List<SysctlDrift> drift = new LiveDetection(views.view()).sysctlDrift();

    assertThat(drift).extracting(SysctlDrift::name).containsExactly("net.core.somaxconn");
    SysctlDrift d = drift.getFirst();
    assertThat(d.majorityValue()).isEqualTo("4096");
    assertThat(d.hostsWithMajority()).isEqualTo(3);
    assertThat(d.hostsReporting()).isEqualTo(4);
    assertThat(d.differing()).containsExactly(new SysctlDrift.HostValue("d", "128"));
    // tcp_tw_recycle is 0 on two hosts and 1 on two: no majority, so no drift to report.
  }

  @Test
  void alertsAreTheDetectorsFiringOnes() {
    Alert a =
        new Alert(
            Alert.Status.FIRING,
            "db-17/close_wait/java[4121]@9",
            Map.of("alertname", "CloseWaitGrowing", "host", "db-17", "severity", "critical"),
            Map.of("summary", "s", "runbook_url", "RUNBOOK.md#close_wait"),
            SINCE,
            null,
            AT);
    var views = new DetectionViews(3).alerts(List.of(a));
    assertThat(new LiveDetection(views.view()).activeAlerts()).containsExactly(a);
  }
}

package io.handlewatch.collector.testing;

import io.handlewatch.collector.api.SysctlDrift;
import io.handlewatch.collector.api.SysctlFinding;
import io.handlewatch.collector.api.VerdictView;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.Severity;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A small fleet with a known answer to every sort and filter, for the API and page tests. Each host
 * reports three times, 10 s apart; {@code cache-c} last did so five minutes ago (stale). Values:
 *
 * <pre>
 * host     CLOSE_WAIT  TIME_WAIT  java fds of 1024  verdict
 * api-a    50          10         900 (87.9 %)      -
 * api-b    5           500        100 (9.8 %)       -
 * cache-c  0           0          512 (50 %)        -        stale
 * db-d     1           20         300 (29.3 %)      critical, ETA 1 h (fds of java[4242])
 * db-e     2           30         200 (19.5 %)      warning, ETA 2 h (CLOSE_WAIT to 10.0.0.9:8080)
 * edge-f   (no TCP counts)        150 (14.6 %)      -
 * </pre>
 */
public final class TestFleet {
  private TestFleet() {}

  public static final List<String> HOSTS =
      List.of("api-a", "api-b", "cache-c", "db-d", "db-e", "edge-f");

  /** A report whose counts the test chooses; java (pid 4242) holds the CLOSE_WAIT sockets. */
  public static HostReport report(
      String host, long seq, Instant t, Long closeWait, long timeWait, long javaFds) {
    HostSample.Builder s = TestReports.sample(host, seq, t).toBuilder();
    if (closeWait == null) {
      s.clearTcp();
    } else {
      s.getTcpBuilder().getTotalBuilder().setCloseWait(closeWait).setTimeWait(timeWait);
    }
    long cw = closeWait == null ? 0 : closeWait;
    s.clearProcesses()
        .addProcesses(TestReports.process(4242, "java", javaFds, 1024, cw))
        .addProcesses(TestReports.process(77, "nginx", 120, 65536, 0));
    if (host.equals("db-d")) {
      s.clearSysctls()
          .addSysctls(Sysctl.newBuilder().setName("net.core.somaxconn").setValue("128"))
          .addSysctls(
              Sysctl.newBuilder().setName("net.ipv4.ip_local_port_range").setValue("32768\t60999"));
    }
    return HostReport.newBuilder().setSeq(seq).setSample(s).build();
  }

  /** Every report of the fleet, oldest first, the newest of the fresh hosts 5 s before now. */
  public static List<HostReport> reports(Instant now) {
    List<HostReport> out = new ArrayList<>();
    Object[][] hosts = {
      {"api-a", 50L, 10L, 900L, now},
      {"api-b", 5L, 500L, 100L, now},
      {"cache-c", 0L, 0L, 512L, now.minus(Duration.ofMinutes(5))},
      {"db-d", 1L, 20L, 300L, now},
      {"db-e", 2L, 30L, 200L, now},
      {"edge-f", null, 0L, 150L, now},
    };
    for (Object[] h : hosts) {
      Instant end = ((Instant) h[4]).minusSeconds(5);
      for (int i = 0; i < 3; i++) {
        out.add(
            report(
                (String) h[0],
                i + 1,
                end.minusSeconds(10L * (2 - i)),
                (Long) h[1],
                (Long) h[2],
                (Long) h[3]));
      }
    }
    return out;
  }

  /** Writes the fleet into {@code store} and waits until it is stored. */
  public static void write(SampleStore store, Instant now) throws Exception {
    for (HostReport r : reports(now)) store.write(r).get(30, TimeUnit.SECONDS);
  }

  /** The detector's conclusions about the fleet, as the read model would serve them. */
  public static void detect(FixedDetection d, Instant now) {
    d.verdicts.add(
        new VerdictView(
            "db-d",
            "process_fds",
            "java[4242]",
            Severity.CRITICAL,
            3600.0,
            12.0,
            300.0,
            1024.0,
            1800L,
            now.minus(Duration.ofMinutes(20)),
            now,
            "java (pid 4242) fds 300 of 1024, +12/min, exhausted in about 1 h"));
    d.verdicts.add(
        new VerdictView(
            "db-e",
            "close_wait",
            "java[4242]",
            Severity.WARNING,
            7200.0,
            1.5,
            2.0,
            null,
            1800L,
            now.minus(Duration.ofMinutes(10)),
            now,
            "java (pid 4242) CLOSE_WAIT to 10.0.0.9:8080 growing 1.5/min"));
    d.alerts.add(
        new Alert(
            Alert.Status.FIRING,
            "db-d/process_fds/java[4242]@9000",
            Map.of(
                "alertname", "ProcessFileDescriptorsRunningOut",
                "host", "db-d",
                "severity", "critical",
                "pid", "4242",
                "comm", "java"),
            Map.of("summary", "db-d: java (pid 4242) runs out of fds in about 1 h"),
            now.minus(Duration.ofMinutes(20)),
            null,
            now));
    d.findings.add(
        new SysctlFinding(
            "db-d",
            "net.core.somaxconn",
            "net.core.somaxconn",
            "128",
            "low_somaxconn",
            "db-d: net.core.somaxconn = 128, below 1,024",
            "listen backlog capped at 128",
            "4096"));
    d.drift.add(
        new SysctlDrift(
            "net.core.somaxconn", "4096", 5, 6, List.of(new SysctlDrift.HostValue("db-d", "128"))));
  }
}

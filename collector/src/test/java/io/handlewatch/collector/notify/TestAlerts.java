package io.handlewatch.collector.notify;

import io.handlewatch.collector.detect.Alert;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/** Alerts as the detector would emit them: a CLOSE_WAIT leak held by one process. */
final class TestAlerts {
  private TestAlerts() {}

  static Alert firing(String host, int pid) {
    return firing(host, pid, "critical");
  }

  static Alert firing(String host, int pid, String severity) {
    Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS).minusSeconds(60);
    return new Alert(
        Alert.Status.FIRING,
        key(host, pid),
        Map.of(
            "alertname",
            "CloseWaitGrowth",
            "host",
            host,
            "severity",
            severity,
            "pid",
            Integer.toString(pid),
            "comm",
            "java",
            "remote",
            "10.0.0.5:5432"),
        Map.of(
            "summary",
            host + ": java (pid " + pid + ") leaks CLOSE_WAIT sockets to 10.0.0.5:5432",
            "description",
            "3812 CLOSE_WAIT sockets, +40/min over 30 min; fds 61000 of 65536, exhausted in"
                + " about 1 h 50 min",
            "runbook_url",
            "https://runbooks.example/close-wait",
            "value",
            "3812",
            "slope_per_min",
            "40",
            "eta_seconds",
            "6600"),
        start,
        null,
        start.plusSeconds(30));
  }

  static String key(String host, int pid) {
    return host + "/close_wait_growth/" + pid;
  }

  /** The incident {@code f} is over. */
  static Alert resolved(Alert f) {
    Instant end = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    return new Alert(
        Alert.Status.RESOLVED, f.dedupKey(), f.labels(), f.annotations(), f.startsAt(), end, end);
  }

  /** The collector let go of {@code f}: its host stopped reporting here. */
  static Alert released(Alert f) {
    return new Alert(
        Alert.Status.RELEASED,
        f.dedupKey(),
        f.labels(),
        f.annotations(),
        f.startsAt(),
        null,
        Instant.now());
  }

  /** Same incident, other labels (e.g. escalated severity). */
  static Alert withLabel(Alert f, String label, String value) {
    var labels = new java.util.TreeMap<>(f.labels());
    labels.put(label, value);
    return new Alert(
        f.status(), f.dedupKey(), labels, f.annotations(), f.startsAt(), f.endsAt(), Instant.now());
  }

  static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }
}

package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AlertBookTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  final List<Alert> sent = new ArrayList<>();
  final AlertBook book = new AlertBook(Duration.ofMinutes(10), "https://wiki/runbook", sent::add);

  static Verdict verdict(Severity s, Instant at, String subject) {
    return new Verdict(
        "db-17",
        Kind.CLOSE_WAIT,
        subject,
        s,
        at,
        Duration.ofMinutes(5),
        40.0,
        3812,
        65536.0,
        Duration.ofMinutes(110),
        T0,
        Map.of("pid", "4121", "comm", "java", "remote", "10.0.0.5:5432"),
        "db-17: java[4121] holds 3,812 CLOSE_WAIT sockets",
        "evidence",
        "db-17/close_wait/" + subject);
  }

  /** Observes the verdict at each minute given (a report per minute), sweeping after each. */
  void observe(Severity s, String subject, int... minutes) {
    for (int m : minutes) {
      Instant at = T0.plusSeconds(60L * m);
      book.observe(verdict(s, at, subject));
      book.sweep("db-17", at);
    }
  }

  @Test
  void aVerdictFiresOnceWithLabelsAnnotationsAndEvidence() {
    observe(Severity.CRITICAL, "java[4121]", 0, 1, 2, 3);
    assertThat(sent).hasSize(1);
    Alert a = sent.getFirst();
    assertThat(a.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(a.labels())
        .containsEntry("alertname", "CloseWaitGrowing")
        .containsEntry("host", "db-17")
        .containsEntry("severity", "critical")
        .containsEntry("pid", "4121")
        .containsEntry("comm", "java")
        .containsEntry("remote", "10.0.0.5:5432");
    assertThat(a.annotations())
        .containsEntry("runbook_url", "https://wiki/runbook#close_wait")
        .containsEntry("eta_seconds", "6600")
        .containsEntry("value", "3812")
        .containsKeys("summary", "description", "since", "slope_per_min");
    assertThat(a.startsAt()).isEqualTo(T0);
    assertThat(a.endsAt()).isNull();
  }

  @Test
  void aLeakThatStopsResolvesAfterTheQuietPeriodWithEndsAt() {
    observe(Severity.CRITICAL, "java[4121]", 0, 1, 2);
    book.sweep("db-17", T0.plusSeconds(60 * 11)); // 9 min quiet: still firing
    assertThat(sent).hasSize(1);
    book.sweep("db-17", T0.plusSeconds(60 * 12));
    assertThat(sent).hasSize(2);
    Alert r = sent.get(1);
    assertThat(r.status()).isEqualTo(Alert.Status.RESOLVED);
    assertThat(r.endsAt()).isEqualTo(T0.plusSeconds(60 * 12));
    assertThat(r.startsAt()).isEqualTo(T0);
    assertThat(r.labels()).isEqualTo(sent.getFirst().labels());
    assertThat(r.dedupKey()).isEqualTo(sent.getFirst().dedupKey());
    assertThat(book.active()).isEmpty();
  }

  @Test
  void aFlappingVerdictPagesOnce() {
    // In and out of the verdict every few minutes for an hour: gaps always under the quiet period.
    observe(Severity.CRITICAL, "java[4121]", 0, 4, 5, 13, 20, 21, 29, 38, 45, 54, 60);
    assertThat(sent).extracting(Alert::status).containsExactly(Alert.Status.FIRING);
  }

  @Test
  void escalationResolvesTheWarningAndFiresCriticalUnderTheSameDedupKey() {
    observe(Severity.WARNING, "java[4121]", 0, 1);
    observe(Severity.CRITICAL, "java[4121]", 2, 3);
    observe(Severity.WARNING, "java[4121]", 4); // never back down within an incident
    assertThat(sent)
        .extracting(Alert::status, a -> a.labels().get("severity"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Alert.Status.FIRING, "warning"),
            org.assertj.core.groups.Tuple.tuple(Alert.Status.RESOLVED, "warning"),
            org.assertj.core.groups.Tuple.tuple(Alert.Status.FIRING, "critical"));
    assertThat(sent).extracting(Alert::dedupKey).containsOnly("db-17/close_wait/java[4121]");
    assertThat(sent.get(1).endsAt()).isEqualTo(sent.get(2).startsAt());
    assertThat(book.active()).hasSize(1);
  }

  @Test
  void subjectsAreSeparateAlertsAndSilentHostsResolveOnTheSweep() {
    observe(Severity.CRITICAL, "java[4121]", 0);
    observe(Severity.CRITICAL, "java[5000]", 1);
    assertThat(book.active()).hasSize(2);
    book.sweepAll(T0.plusSeconds(60 * 30));
    assertThat(sent)
        .extracting(Alert::status)
        .containsExactly(
            Alert.Status.FIRING, Alert.Status.FIRING, Alert.Status.RESOLVED, Alert.Status.RESOLVED);
    assertThat(book.hasIncidents("db-17")).isFalse();
  }

  @Test
  void infoVerdictsAndFindingsNeverPage() {
    observe(Severity.INFO, "java[4121]", 0, 1, 2);
    book.observe(SysctlFindingsTestSupport.finding("db-17", Kind.TCP_TW_RECYCLE, T0));
    assertThat(sent).isEmpty();
  }
}

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
  void subjectsAreSeparateAlertsAndASilentHostIsReleasedNotResolved() {
    observe(Severity.CRITICAL, "java[4121]", 0);
    observe(Severity.CRITICAL, "java[5000]", 1);
    assertThat(book.active()).hasSize(2);
    book.release("db-17", T0.plusSeconds(60 * 30));
    assertThat(sent)
        .extracting(Alert::status)
        .containsExactly(
            Alert.Status.FIRING, Alert.Status.FIRING, Alert.Status.RELEASED, Alert.Status.RELEASED);
    Alert released = sent.get(2);
    assertThat(released.labels()).isEqualTo(sent.getFirst().labels());
    assertThat(released.startsAt()).isEqualTo(sent.getFirst().startsAt());
    assertThat(released.endsAt()).isNull();
    assertThat(book.hasIncidents("db-17")).isFalse();
    assertThat(book.active()).isEmpty();
  }

  /** The labels another collector sent for java[4121]'s incident, as the store keeps them. */
  static AlertBook.Inherited inherited(String severity, Instant startsAt, Instant lastActive) {
    Map<String, String> labels = new java.util.LinkedHashMap<>();
    labels.put("alertname", "CloseWaitGrowing");
    labels.put("host", "db-17");
    labels.put("severity", severity);
    labels.put("pid", "4121");
    labels.put("comm", "java");
    labels.put("remote", "10.0.0.9:8080"); // the peer that grew most when it began
    return new AlertBook.Inherited("db-17/close_wait/java[4121]", labels, startsAt, lastActive);
  }

  @Test
  void anInheritedIncidentFiresWithItsLabelsAndStartWhenAVerdictConfirmsIt() {
    Instant began = T0.minusSeconds(3600);
    book.inherit("db-17", List.of(inherited("critical", began, T0.minusSeconds(20))));
    assertThat(book.active()).as("not sent from here yet").isEmpty();
    assertThat(book.size()).isZero();
    assertThat(book.hasIncidents("db-17")).isTrue();

    observe(Severity.CRITICAL, "java[4121]", 0, 1, 2);
    assertThat(sent).hasSize(1);
    Alert a = sent.getFirst();
    assertThat(a.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(a.startsAt()).isEqualTo(began);
    // Exactly the label set Alertmanager has, although this verdict names another peer now.
    assertThat(a.labels()).containsEntry("remote", "10.0.0.9:8080");
    assertThat(a.annotations())
        .containsEntry("summary", verdict(Severity.CRITICAL, T0, "x").summary());
    assertThat(book.sent("db-17", a.dedupKey())).isEqualTo(a);

    book.sweep("db-17", T0.plusSeconds(60 * 13)); // no verdict for 11 minutes
    assertThat(sent)
        .extracting(Alert::status)
        .containsExactly(Alert.Status.FIRING, Alert.Status.RESOLVED);
    assertThat(sent.getLast().startsAt()).isEqualTo(began);
  }

  @Test
  void anInheritedWarningEscalatesWhenTheVerdictHereIsCritical() {
    book.inherit("db-17", List.of(inherited("warning", T0.minusSeconds(600), T0)));
    observe(Severity.CRITICAL, "java[4121]", 1);
    assertThat(sent)
        .extracting(Alert::status, a -> a.labels().get("severity"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Alert.Status.RESOLVED, "warning"),
            org.assertj.core.groups.Tuple.tuple(Alert.Status.FIRING, "critical"));
    assertThat(sent.getFirst().startsAt()).isEqualTo(T0.minusSeconds(600));
    assertThat(sent.getLast().startsAt()).isEqualTo(T0.plusSeconds(60));
  }

  @Test
  void anInheritedCriticalStaysCriticalWhenTheVerdictHereIsAWarning() {
    book.inherit("db-17", List.of(inherited("critical", T0.minusSeconds(600), T0)));
    observe(Severity.WARNING, "java[4121]", 1);
    assertThat(sent).hasSize(1);
    assertThat(sent.getFirst().labels()).containsEntry("severity", "critical");
  }

  @Test
  void anInheritedIncidentNoVerdictConfirmsEndsSilentlyAndAnOpenOneIsKept() {
    observe(Severity.CRITICAL, "java[5000]", 0);
    book.inherit(
        "db-17",
        List.of(
            inherited("critical", T0.minusSeconds(900), T0.minusSeconds(60)),
            new AlertBook.Inherited(
                "db-17/close_wait/java[5000]",
                Map.of("alertname", "CloseWaitGrowing", "host", "db-17", "severity", "warning"),
                T0.minusSeconds(9000),
                T0)));
    observe(Severity.CRITICAL, "java[5000]", 5, 10);
    assertThat(sent).as("java[5000] was already open here: not replaced").hasSize(1);
    assertThat(book.hasIncidents("db-17")).isTrue();
    book.release("db-17", T0.plusSeconds(60 * 20));
    // java[4121]'s inherited incident was never sent from here: nothing to release.
    assertThat(sent)
        .extracting(Alert::status, Alert::dedupKey)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Alert.Status.FIRING, "db-17/close_wait/java[5000]"),
            org.assertj.core.groups.Tuple.tuple(
                Alert.Status.RELEASED, "db-17/close_wait/java[5000]"));
  }

  @Test
  void infoVerdictsAndFindingsNeverPage() {
    observe(Severity.INFO, "java[4121]", 0, 1, 2);
    book.observe(SysctlFindingRuleTestSupport.finding("db-17", Kind.TCP_TW_RECYCLE, T0));
    assertThat(sent).isEmpty();
  }
}

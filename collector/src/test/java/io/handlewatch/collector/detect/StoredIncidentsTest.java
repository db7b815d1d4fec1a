package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.store.StoredPoint;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class StoredIncidentsTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  static final Duration QUIET = Duration.ofMinutes(10);

  static Alert firing(String key, String severity, Instant startsAt) {
    return new Alert(
        Alert.Status.FIRING,
        key,
        Map.of("alertname", "CloseWaitGrowing", "host", "db-17", "severity", severity, "pid", "41"),
        Map.of("summary", "s"),
        startsAt,
        null,
        startsAt);
  }

  static StoredPoint point(Instant at, Map<String, Object> fields) {
    return new StoredPoint(
        "verdict",
        new TreeMap<>(Map.of("host", "db-17", "kind", "close_wait", "subject", "java[41]")),
        fields,
        at);
  }

  static StoredPoint paging(Instant at, Alert firing) {
    return point(
        at, Map.of("severity", "critical", StoredIncidents.FIELD, StoredIncidents.encode(firing)));
  }

  @Test
  void theNewestPointOfEachIncidentYoungerThanTheQuietPeriodIsOpen() {
    Alert leak = firing("db-17/close_wait/java[41]@9", "critical", T0.minusSeconds(3600));
    Alert old = firing("db-17/process_fds/java[7]@1", "warning", T0.minusSeconds(7200));
    var found =
        StoredIncidents.open(
            List.of(
                paging(T0.minusSeconds(120), leak),
                paging(T0.minusSeconds(60), leak),
                point(T0.minusSeconds(50), Map.of("severity", "ok")),
                paging(T0.minus(QUIET).minusSeconds(1), old)),
            T0,
            QUIET);
    assertThat(found.unreadable()).isZero();
    assertThat(found.incidents())
        .containsExactly(
            new AlertBook.Inherited(
                leak.dedupKey(), leak.labels(), leak.startsAt(), T0.minusSeconds(60)));
  }

  @Test
  void anUnreadableFieldIsCountedAndSkipped() {
    var found =
        StoredIncidents.open(
            List.of(
                point(T0, Map.of("severity", "critical", StoredIncidents.FIELD, "{not json")),
                point(T0, Map.of("severity", "critical", StoredIncidents.FIELD, "{\"key\":\"k\"}")),
                paging(T0, firing("k", "info", T0))),
            T0.plusSeconds(1),
            QUIET);
    assertThat(found.incidents()).isEmpty();
    assertThat(found.unreadable()).isEqualTo(3);
  }
}

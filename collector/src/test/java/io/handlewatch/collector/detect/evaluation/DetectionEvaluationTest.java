package io.handlewatch.collector.detect.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.DetectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The targets, asserted on the checked-in evaluation (defaults, fixed seeds). */
class DetectionEvaluationTest {
  static Map<String, DetectionEvaluation.Row> rows;

  @BeforeAll
  static void evaluate() {
    List<DetectionEvaluation.Row> all = DetectionEvaluation.run(new DetectionFactory());
    System.out.print(DetectionEvaluation.table(all));
    rows = all.stream().collect(Collectors.toMap(r -> r.trace().name(), Function.identity()));
  }

  @Test
  void aCloseWaitLeakOfOnePerSecondPagesWithinThreeMinutes() {
    var r = rows.get("close-wait-1/s");
    assertThat(r.oursAfter())
        .as("paged after")
        .isNotNull()
        .isLessThanOrEqualTo(Duration.ofMinutes(3));
    assertThat(r.oursSeverity()).isEqualTo("critical");
    assertThat(r.oursFalsePages()).isZero();
  }

  @Test
  void aCloseWaitLeakOfTenPerMinutePages() {
    var r = rows.get("close-wait-10/min");
    assertThat(r.oursAfter())
        .as("paged after")
        .isNotNull()
        .isLessThanOrEqualTo(Duration.ofMinutes(10));
    assertThat(r.oursFalsePages()).isZero();
  }

  @Test
  void anFdLeakExhaustingInTwoHoursPagesWithinTenMinutesWithAnAccurateEta() {
    var r = rows.get("fd-leak-2h");
    assertThat(r.oursAfter())
        .as("paged after")
        .isNotNull()
        .isLessThanOrEqualTo(Duration.ofMinutes(10));
    assertThat(r.oursSeverity()).isIn("warning", "critical");
    assertThat(r.oursEtaError()).as("ETA error").isNotNull().isLessThan(0.20);
  }

  @Test
  void everyFdLeakPagesWithAnEtaWithinTwentyPercent() {
    for (String name : List.of("fd-leak-1h", "fd-leak-2h", "fd-leak-12h")) {
      var r = rows.get(name);
      assertThat(r.oursAfter()).as(name).isNotNull();
      assertThat(r.oursEtaError()).as(name + " ETA error").isLessThan(0.20);
      assertThat(r.oursFalsePages()).as(name + " false pages").isZero();
    }
    assertThat(rows.get("fd-leak-1h").oursSeverity()).isEqualTo("critical");
    assertThat(rows.get("fd-leak-12h").oursSeverity()).isEqualTo("warning");
  }

  @Test
  void nothingPagesOnTracesWithoutALeak() {
    for (String name : List.of("step", "sawtooth", "diurnal", "noisy", "stable-5000", "restart")) {
      var r = rows.get(name);
      assertThat(r.alerts()).as(name + ": alerts").isEmpty();
    }
  }

  @Test
  void everyLeakPagesEarlierThanTheNodeMixinRule() {
    for (var r : rows.values()) {
      if (r.trace().leak() == null) continue;
      assertThat(r.oursAfter()).as(r.trace().name()).isNotNull();
      if (r.baselineAfter() != null) {
        assertThat(r.oursAfter()).as(r.trace().name()).isLessThan(r.baselineAfter());
      }
    }
  }
}

package io.handlewatch.collector.detect.evaluation;

import static io.handlewatch.collector.detect.evaluation.TraceGenerator.jitter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ProcessSample;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * node-mixin's real rules, run by the real promtool on generated traces: what they must page, what
 * they must not, and where {@link NodeMixinBaseline}'s Java reading of the same rules agrees.
 */
class PromtoolNodeMixinIT {
  private static final Duration WINDOW = Duration.ofMinutes(30);

  @Test
  void aProcessFdLeakIsPagedFifteenMinutesAfterItStaysAbove70Percent() {
    for (String name : List.of("fd-leak-1h", "fd-leak-2h")) {
      Trace trace = Traces.named(name);
      long t0 = System.nanoTime();
      PromtoolNodeMixin.Page page = PromtoolNodeMixin.firstPage(trace);
      System.out.printf(
          "%s: %d reports, promtool %d ms: %s%n",
          name, trace.reports().size(), (System.nanoTime() - t0) / 1_000_000, page);

      assertThat(page).as(name).isNotNull();
      assertThat(page.alert()).isEqualTo("NodeFileDescriptorLimit");
      assertThat(page.subject()).isEqualTo(trace.leak().subject());
      assertThat(page.severity()).isEqualTo("warning");
      assertThat(page.impliedEta()).as("the limit rule predicts nothing").isNull();
      // Prometheus's `for`: active at the first evaluation from which the ratio stays above 70 %,
      // firing 15 minutes (90 evaluations) later, reading that step's report.
      int above = firstStepStayingAbove(trace, 0.70);
      assertThat(page.at()).isEqualTo(time(trace, above + 90));
      // And where the leak's definition puts it: the line crosses 70 % of the limit, plus 15 min.
      ProcessSample p = process(trace.reports().getFirst(), trace.leak().subject());
      double limit = p.getSoftLimit();
      double level = p.getFds();
      double toLimit = Duration.between(trace.leak().start(), trace.leak().exhaustion()).toMillis();
      Instant crossing =
          trace
              .leak()
              .start()
              .plusMillis((long) ((0.7 * limit - level) / (limit - level) * toLimit));
      assertThat(Duration.between(crossing.plus(Duration.ofMinutes(15)), page.at()).abs())
          .isLessThan(Duration.ofMinutes(1));
    }
  }

  @Test
  void tracesThatStayBelow70PercentAndDoNotCreepNeverPage() {
    for (String name : List.of("noisy", "step", "sawtooth", "stable-5000", "restart")) {
      Trace trace = Traces.named(name);
      assertThat(maxUsedRatio(trace)).as(name + " stays below 70 %").isLessThan(0.70);
      assertThat(PromtoolNodeMixin.firstPage(trace)).as(name).isNull();
    }
  }

  @Test
  void aSlowCreepIsPredictedByTheFillingUpRuleWithItsEta() {
    Trace creep = creep();
    PromtoolNodeMixin.Page page = PromtoolNodeMixin.firstPage(creep, WINDOW);
    System.out.println("creep: " + page);

    assertThat(page).isNotNull();
    assertThat(page.alert()).isEqualTo("NodeFilesystemFilesFillingUp");
    assertThat(page.subject()).isEqualTo("java[4121]");
    assertThat(page.severity()).isEqualTo("warning");
    assertThat(maxUsedRatio(creep)).as("never reaches the limit rule").isLessThan(0.70);
    Duration trueEta = Duration.between(page.at(), creep.leak().exhaustion());
    assertThat(page.impliedEta()).isNotNull();
    assertThat((double) page.impliedEta().toSeconds())
        .isCloseTo(trueEta.toSeconds(), within(0.10 * trueEta.toSeconds()));
    // `for: 1h`: the condition held for an hour before the page, so it came at least an hour
    // after the leak began.
    assertThat(page.at()).isAfterOrEqualTo(creep.leak().start().plus(Duration.ofHours(1)));
  }

  @Test
  void aProcessIsNotReadAfterItLeavesTheSamples() {
    // 83 % of its limit from the first sample: paged after 15 min if it lives that long, never if
    // it exits at 12 min (a scrape marks its series stale; Prometheus does not go on reading the
    // last value for its 5-minute lookback).
    Trace longLived = exiting(16);
    PromtoolNodeMixin.Page page = PromtoolNodeMixin.firstPage(longLived);
    assertThat(page).isNotNull();
    assertThat(page.subject()).isEqualTo("batch[5001]");
    assertThat(page.at()).isEqualTo(time(longLived, 90));

    assertThat(PromtoolNodeMixin.firstPage(exiting(12))).isNull();
  }

  /**
   * Where both read the same rule the same way, the Java baseline must page as promtool does: with
   * the detector's window (as the evaluation runs it) and with node-mixin's own 6h.
   */
  @Test
  void agreesWithTheJavaBaselineOnEveryTrace() {
    List<Trace> traces =
        Stream.concat(
                // diurnal is 24 h: 20-40 s of promtool on this machine, left to the evaluation.
                Traces.all().stream().filter(t -> !t.name().equals("diurnal")),
                Stream.of(creep(), exiting(16), exiting(12)))
            .toList();
    for (Duration window : List.of(WINDOW, PromtoolNodeMixin.UPSTREAM_WINDOW)) {
      int paged = 0;
      for (Trace trace : traces) {
        PromtoolNodeMixin.Page real = PromtoolNodeMixin.firstPage(trace, window);
        NodeMixinBaseline.Page java = new NodeMixinBaseline(window).firstPage(trace);
        String what = trace.name() + " over " + window;
        System.out.printf("%s%n  promtool %s%n  java     %s%n", what, real, java);
        if (real == null) {
          assertThat(java).as(what).isNull();
          continue;
        }
        paged++;
        assertThat(java).as(what).isNotNull();
        assertThat(java.subject()).as(what).isEqualTo(real.subject());
        assertThat(java.severity()).as(what).isEqualTo(real.severity());
        // The Java baseline times `for` by the reports' jittered clocks (±200 ms), Prometheus by
        // its evaluations: one 10 s step apart at most.
        assertThat(Duration.between(real.at(), java.at()).abs())
            .as(what)
            .isLessThanOrEqualTo(Duration.ofSeconds(10));
        if (real.impliedEta() != null) {
          assertThat((double) java.impliedEta().toSeconds())
              .as(what + " ETA")
              .isCloseTo(
                  real.impliedEta().toSeconds(), within(0.02 * real.impliedEta().toSeconds()));
        }
      }
      assertThat(paged).as("traces paged over " + window).isGreaterThanOrEqualTo(3);
    }
  }

  /**
   * node-mixin's one rule on conntrack, NodeHighNumberConntrackEntriesUsed (above 75 %, no {@code
   * for}), run by promtool on the evaluation's conntrack traces: it fires at the first sample above
   * 75 % and the Java baseline the evaluation tables use fires there too; a table that stays below
   * it never pages.
   */
  @Test
  void conntrackAbove75PercentPagesAtOnceAsTheJavaBaselineSays() {
    int paged = 0;
    for (String name :
        List.of("conntrack-flat-near-limit", "conntrack-growth", "conntrack-bursts-drain")) {
      for (long seed : new long[] {1, 2}) {
        Trace trace = Scenarios.named(name).trace().apply(seed);
        PromtoolNodeMixin.Page real = PromtoolNodeMixin.firstPage(trace, WINDOW);
        NodeMixinBaseline.Page java = new NodeMixinBaseline(WINDOW).firstPage(trace);
        String what = name + " seed " + seed;
        System.out.printf("%s%n  promtool %s%n  java     %s%n", what, real, java);
        if (real == null) {
          assertThat(java).as(what).isNull();
          continue;
        }
        paged++;
        assertThat(real.alert()).as(what).isEqualTo(PromtoolNodeMixin.CONNTRACK_ALERT);
        assertThat(real.severity()).as(what).isEqualTo("warning");
        assertThat(real.subject()).as(what).isEqualTo(trace.host());
        assertThat(java).as(what).isNotNull();
        assertThat(Duration.between(real.at(), java.at()).abs())
            .as(what)
            .isLessThanOrEqualTo(Duration.ofSeconds(10));
        if (name.equals("conntrack-flat-near-limit")) {
          assertThat(real.at()).as(what + ": at the first sample").isEqualTo(start(trace));
        }
      }
    }
    assertThat(paged).as("flat near the limit and growth page").isGreaterThanOrEqualTo(4);
  }

  private static java.time.Instant start(Trace t) {
    var ts = t.reports().getFirst().getSample().getTime();
    return java.time.Instant.ofEpochSecond(ts.getSeconds(), ts.getNanos());
  }

  @Test
  void aCloseWaitLeakIsNotPagedWhileItsFdsStayFarFromTheLimit() {
    // node-mixin has no CLOSE_WAIT rule: an hour of 60 leaked sockets a minute takes api-gw from
    // 2 % to 8 % of its fd limit, which none of its rules reads as trouble.
    Trace trace = Traces.named("close-wait-1/s");
    assertThat(maxUsedRatio(trace)).isLessThan(0.10);
    assertThat(PromtoolNodeMixin.firstPage(trace)).isNull();
  }

  /** java at 62 % of its limit, creeping 4 fds/min: exhausted in about 16 h, never above 70 %. */
  private static Trace creep() {
    return Traces.fdLeak("creep", 201, 10_000, 6_200, 950, 8);
  }

  /** A process at 83 % of its limit from the start that exits at {@code minute}. */
  private static Trace exiting(double minute) {
    var g = new TraceGenerator("exit-" + (int) minute, Traces.T0, 202);
    g.add(
        new Process(
            5001, 9_000, "batch", 1_024, jitter(850, 5), Curve.constant(0), null, 0, minute));
    return new Trace("exit-" + (int) minute, "batch at 83 % exits", g.generate(40), null);
  }

  private static ProcessSample process(HostReport r, String subject) {
    return r.getSample().getProcessesList().stream()
        .filter(p -> (p.getComm() + "[" + p.getPid() + "]").equals(subject))
        .findFirst()
        .orElse(null);
  }

  private static int firstStepStayingAbove(Trace trace, double ratio) {
    List<HostReport> reports = trace.reports();
    int first = -1;
    for (int i = 0; i < reports.size(); i++) {
      ProcessSample p = process(reports.get(i), trace.leak().subject());
      boolean above = p != null && (double) p.getFds() / p.getSoftLimit() > ratio;
      if (!above) first = -1;
      else if (first < 0) first = i;
    }
    return first;
  }

  private static Instant time(Trace trace, int step) {
    var t = trace.reports().get(step).getSample().getTime();
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  private static double maxUsedRatio(Trace trace) {
    return trace.reports().stream()
        .flatMap(r -> r.getSample().getProcessesList().stream())
        .mapToDouble(p -> (double) p.getFds() / p.getSoftLimit())
        .max()
        .orElse(0);
  }
}

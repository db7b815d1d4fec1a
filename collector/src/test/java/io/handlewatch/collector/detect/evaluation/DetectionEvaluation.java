package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every trace through the detector (the same engine replay and the collector use) and through
 * the node-mixin baseline, and measures: time from leak start to the first page, the ETA error at
 * that moment, and false pages. {@code main} prints the table that BENCHMARKS.md shows.
 */
public final class DetectionEvaluation {

  /**
   * One trace's figures.
   *
   * @param oursAfter time from leak start to our first page of the leak (null: none)
   * @param oursSeverity its severity
   * @param oursEtaError |ETA − true time left| / true time left at that page (null: no ETA)
   * @param oursFalsePages pages of anything else (any page at all on a trace without a leak)
   * @param baselineAfter time from leak start to node-mixin's first page of the leak
   * @param baselineEtaError the error of the ETA its predict_linear implied at that moment
   * @param baselineFalsePages its pages of anything else (0 or 1: only its first page is kept)
   */
  public record Row(
      Trace trace,
      Duration oursAfter,
      String oursSeverity,
      Double oursEtaError,
      int oursFalsePages,
      List<Alert> alerts,
      Duration baselineAfter,
      String baselineSeverity,
      Double baselineEtaError,
      int baselineFalsePages) {}

  private DetectionEvaluation() {}

  public static List<Row> run(DetectionFactory config) {
    List<Row> rows = new ArrayList<>();
    for (Trace t : Traces.all()) rows.add(run(t, config));
    return rows;
  }

  public static Row run(Trace trace, DetectionFactory config) {
    List<Alert> alerts = new ArrayList<>();
    DetectionEngine engine = new DetectionEngine(config, alerts::add, p -> {}, h -> Map.of());
    for (HostReport r : trace.reports()) engine.evaluate(r);

    Trace.Leak leak = trace.leak();
    Alert page = null;
    int falsePages = 0;
    for (Alert a : alerts) {
      if (a.status() != Alert.Status.FIRING) continue;
      if (leak != null && isLeak(a, leak) && !a.at().isBefore(leak.start())) {
        if (page == null) page = a;
      } else if (leak == null || !isLeak(a, leak)) {
        falsePages++;
      }
    }
    Duration after = null;
    String severity = null;
    Double etaError = null;
    if (page != null) {
      after = Duration.between(leak.start(), page.at());
      severity = page.labels().get("severity");
      String eta = page.annotations().get("eta_seconds");
      if (eta != null) etaError = error(Duration.ofSeconds(Long.parseLong(eta)), leak, page.at());
    }

    NodeMixinBaseline.Page base =
        new NodeMixinBaseline(Duration.ofMillis(config.window.toMilliseconds())).firstPage(trace);
    Duration baseAfter = null;
    String baseSeverity = null;
    Double baseError = null;
    int baseFalse = 0;
    if (base != null) {
      if (leak != null && base.subject().equals(leak.subject())) {
        baseAfter = Duration.between(leak.start(), base.at());
        baseSeverity = base.severity();
        if (base.impliedEta() != null) baseError = error(base.impliedEta(), leak, base.at());
      } else {
        baseFalse = 1;
      }
    }
    return new Row(
        trace,
        after,
        severity,
        etaError,
        falsePages,
        List.copyOf(alerts),
        baseAfter,
        baseSeverity,
        baseError,
        baseFalse);
  }

  private static boolean isLeak(Alert a, Trace.Leak leak) {
    String subject = a.labels().get("comm") + "[" + a.labels().get("pid") + "]";
    return a.labels().get("alertname").equals(leak.kind().alertname())
        && subject.equals(leak.subject());
  }

  private static double error(Duration eta, Trace.Leak leak, Instant at) {
    double truth = Duration.between(at, leak.exhaustion()).toSeconds();
    return Math.abs(eta.toSeconds() - truth) / truth;
  }

  /** The figures as a Markdown table. */
  public static String table(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        "| trace | ours: paged after | ours: severity | ours: ETA error | ours: false pages"
            + " | node-mixin: paged after | node-mixin: ETA error | node-mixin: false pages |\n");
    sb.append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (Row r : rows) {
      boolean leak = r.trace().leak() != null;
      sb.append("| ")
          .append(r.trace().name())
          .append(" | ")
          .append(leak ? after(r.oursAfter()) : "—")
          .append(" | ")
          .append(r.oursSeverity() == null ? "—" : r.oursSeverity())
          .append(" | ")
          .append(percent(r.oursEtaError()))
          .append(" | ")
          .append(r.oursFalsePages())
          .append(" | ")
          .append(
              leak
                  ? after(r.baselineAfter())
                      + (r.baselineSeverity() == null ? "" : " (" + r.baselineSeverity() + ")")
                  : "—")
          .append(" | ")
          .append(percent(r.baselineEtaError()))
          .append(" | ")
          .append(r.baselineFalsePages())
          .append(" |\n");
    }
    return sb.toString();
  }

  private static String after(Duration d) {
    if (d == null) return "never";
    long s = d.toSeconds();
    return s < 3600
        ? String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60)
        : String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
  }

  private static String percent(Double e) {
    return e == null ? "—" : String.format(Locale.ROOT, "%.1f %%", 100 * e);
  }

  /** Prints the table and each trace's description (BENCHMARKS.md, "Detection evaluation"). */
  public static void main(String[] args) {
    List<Row> rows = run(new DetectionFactory());
    System.out.print(table(rows));
    System.out.println();
    for (Row r : rows)
      System.out.println("- `" + r.trace().name() + "`: " + r.trace().description());
  }
}

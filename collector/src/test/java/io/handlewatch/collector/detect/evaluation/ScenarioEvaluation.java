package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every {@link Scenarios scenario class} on every seed through the detector (the engine that
 * replay and the collector run) and through the node-mixin baseline, judges each run against what
 * its trace expects ({@link Trace.Expect}), and sums the figures per class. {@code main} prints the
 * tables of BENCHMARKS.md.
 */
public final class ScenarioEvaluation {
  private ScenarioEvaluation() {}

  /**
   * One run: one trace of one class.
   *
   * @param failures what the run did against its trace's expectations (empty: it passed)
   */
  public record Run(
      String scenario,
      long seed,
      Trace trace,
      List<Alert> transitions,
      Duration firstPage,
      String severity,
      Double etaError,
      int truePages,
      int falsePages,
      int firings,
      Duration resolvedAfterRelease,
      NodeMixinBaseline.Page baseline,
      List<String> failures) {
    public boolean passed() {
      return failures.isEmpty();
    }
  }

  public static List<Run> runAll(DetectionFactory config, int seeds) {
    List<Run> out = new ArrayList<>();
    for (Scenarios.Scenario s : Scenarios.all()) {
      for (long seed = 1; seed <= seeds; seed++) out.add(run(s, seed, config));
    }
    return out;
  }

  public static Run run(Scenarios.Scenario s, long seed, DetectionFactory config) {
    Trace trace = s.trace().apply(seed);
    List<Alert> alerts = new ArrayList<>();
    DetectionEngine engine =
        new DetectionEngine(config.build(), alerts::add, p -> {}, h -> Map.of());
    for (HostReport r : trace.reports()) engine.evaluate(r);

    Trace.Leak leak = trace.leak();
    Trace.Expect ex = trace.expect();
    List<String> fail = new ArrayList<>();
    Alert first = null;
    Alert successor = null;
    int truePages = 0;
    int falsePages = 0;
    int firings = 0;
    // Open alerts by dedupKey, to know what is still firing at a given moment.
    Map<String, Alert> open = new HashMap<>();
    Instant allClear = null;
    Alert previous = null;
    for (Alert a : alerts) {
      // Escalation: the same incident resolved under its old labels and fired under new ones at
      // the same instant. One page that moved up, not a second page.
      boolean escalation =
          previous != null
              && previous.status() == Alert.Status.RESOLVED
              && previous.dedupKey().equals(a.dedupKey())
              && previous.at().equals(a.at());
      previous = a;
      if (a.status() == Alert.Status.FIRING) {
        if (!escalation) firings++;
        open.put(a.dedupKey(), a);
        String subject = subject(a);
        boolean ofLeak = leak != null && subject.equals(leak.subject()) && related(a, leak);
        boolean ofSuccessor = ex.successor() != null && subject.equals(ex.successor());
        if (ofLeak || ofSuccessor) {
          truePages++;
          if (ofLeak && first == null) first = a;
          if (ofSuccessor && successor == null) successor = a;
        } else {
          falsePages++;
          fail.add(
              "false page: "
                  + a.labels().get("alertname")
                  + " "
                  + subject
                  + " at "
                  + minute(trace, a.at())
                  + ": "
                  + a.annotations().get("summary"));
        }
      } else {
        open.remove(a.dedupKey());
        if (open.isEmpty()) allClear = a.at();
      }
    }

    Duration after = null;
    String severity = null;
    Double etaError = null;
    if (leak != null) {
      if (first == null) {
        fail.add("never paged the leak of " + leak.subject());
      } else {
        after = Duration.between(leak.start(), first.at());
        severity = first.labels().get("severity");
        if (after.isNegative())
          fail.add("paged before the leak started, at " + minute(trace, first.at()));
        if (ex.pageWithin() != null && after.compareTo(ex.pageWithin()) > 0) {
          fail.add(
              "first page after " + text(after) + ", expected within " + text(ex.pageWithin()));
        }
        if ("critical".equals(ex.minSeverity()) && !"critical".equals(severity)) {
          fail.add("first page " + severity + ", expected critical");
        }
        String eta = first.annotations().get("eta_seconds");
        if (leak.exhaustion() != null) {
          if (eta == null) {
            fail.add("first page has no ETA");
          } else {
            double truth = Duration.between(first.at(), leak.exhaustion()).toSeconds();
            etaError = Math.abs(Long.parseLong(eta) - truth) / truth;
            if (etaError > ex.maxEtaError()) {
              fail.add(
                  String.format(
                      Locale.ROOT,
                      "ETA %s against %s true (%.0f %% off)",
                      text(Duration.ofSeconds(Long.parseLong(eta))),
                      text(Duration.ofSeconds((long) truth)),
                      100 * etaError));
            }
          }
        }
      }
    } else if (!alerts.isEmpty() && falsePages == 0) {
      fail.add("transitions on a trace without a leak: " + alerts.size());
    }
    if (firings > ex.maxFirings() && leak != null) {
      fail.add(firings + " firing transitions, expected at most " + ex.maxFirings());
    }
    if (ex.successor() != null) {
      if (successor == null) {
        fail.add("never paged the restarted process " + ex.successor());
      } else if (Duration.between(ex.successorFrom(), successor.at())
              .compareTo(ex.successorWithin())
          > 0) {
        fail.add(
            "paged "
                + ex.successor()
                + " "
                + text(Duration.between(ex.successorFrom(), successor.at()))
                + " after its start, expected within "
                + text(ex.successorWithin()));
      }
    }
    Duration resolved = null;
    if (ex.releasedAt() != null) {
      if (!open.isEmpty() || allClear == null) {
        fail.add("still firing at the end, " + open.keySet());
      } else {
        resolved = Duration.between(ex.releasedAt(), allClear);
        if (resolved.compareTo(ex.resolveWithin()) > 0) {
          fail.add(
              "resolved "
                  + text(resolved)
                  + " after the release, expected within "
                  + text(ex.resolveWithin()));
        }
      }
    }
    if (ex.held()) {
      boolean firing =
          open.values().stream().anyMatch(a -> leak != null && subject(a).equals(leak.subject()));
      if (!firing) fail.add("the held leak's alert is not firing at the end");
    }
    NodeMixinBaseline.Page base =
        new NodeMixinBaseline(Duration.ofMillis(config.window.toMilliseconds())).firstPage(trace);
    return new Run(
        s.name(),
        seed,
        trace,
        List.copyOf(alerts),
        after,
        severity,
        etaError,
        truePages,
        falsePages,
        firings,
        resolved,
        base,
        List.copyOf(fail));
  }

  /** A page of the leak may come as the process's CLOSE_WAIT or its fds: one incident. */
  private static boolean related(Alert a, Trace.Leak leak) {
    String name = a.labels().get("alertname");
    if (name.equals(leak.kind().alertname())) return true;
    return (leak.kind() == Kind.CLOSE_WAIT || leak.kind() == Kind.PROCESS_FDS)
        && (name.equals(Kind.CLOSE_WAIT.alertname()) || name.equals(Kind.PROCESS_FDS.alertname()));
  }

  /** {@code comm[pid]} of a process alert, else its host. */
  static String subject(Alert a) {
    String comm = a.labels().get("comm");
    String pid = a.labels().get("pid");
    return comm != null && pid != null ? comm + "[" + pid + "]" : a.host();
  }

  private static String minute(Trace t, Instant at) {
    long s = at.getEpochSecond() - t.reports().getFirst().getSample().getTime().getSeconds();
    return String.format(Locale.ROOT, "minute %.1f", s / 60.0);
  }

  static String text(Duration d) {
    if (d == null) return "—";
    long s = d.toSeconds();
    return s < 3600
        ? String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60)
        : String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
  }

  /** One table row per class: pages, time to the first page, ETA error, firings, node-mixin's. */
  public static String table(List<Run> runs) {
    Map<String, List<Run>> by = new java.util.LinkedHashMap<>();
    for (Run r : runs) by.computeIfAbsent(r.scenario(), k -> new ArrayList<>()).add(r);
    StringBuilder sb = new StringBuilder();
    sb.append(
        "| class | runs passed | true pages | false pages | first page: median, worst"
            + " | ETA error: median, worst | firings: max | resolved after release: worst"
            + " | node-mixin: paged (median) | node-mixin: ETA error (median) | node-mixin: false |\n");
    sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (var e : by.entrySet()) {
      List<Run> rs = e.getValue();
      boolean leak = rs.getFirst().trace().leak() != null;
      List<Duration> after =
          rs.stream().map(Run::firstPage).filter(java.util.Objects::nonNull).sorted().toList();
      List<Double> eta =
          rs.stream().map(Run::etaError).filter(java.util.Objects::nonNull).sorted().toList();
      List<Duration> res =
          rs.stream()
              .map(Run::resolvedAfterRelease)
              .filter(java.util.Objects::nonNull)
              .sorted()
              .toList();
      List<Duration> baseAfter = new ArrayList<>();
      List<Double> baseEta = new ArrayList<>();
      int baseFalse = 0;
      for (Run r : rs) {
        var b = r.baseline();
        if (b == null) continue;
        var l = r.trace().leak();
        if (l != null && b.subject().equals(l.subject())) {
          baseAfter.add(Duration.between(l.start(), b.at()));
          if (b.impliedEta() != null && l.exhaustion() != null) {
            double truth = Duration.between(b.at(), l.exhaustion()).toSeconds();
            baseEta.add(Math.abs(b.impliedEta().toSeconds() - truth) / truth);
          }
        } else {
          baseFalse++;
        }
      }
      baseAfter.sort(null);
      baseEta.sort(null);
      sb.append("| ")
          .append(e.getKey())
          .append(" | ")
          .append(rs.stream().filter(Run::passed).count())
          .append("/")
          .append(rs.size())
          .append(" | ")
          .append(rs.stream().mapToInt(Run::truePages).sum())
          .append(" | ")
          .append(rs.stream().mapToInt(Run::falsePages).sum())
          .append(" | ")
          .append(
              leak
                  ? (after.isEmpty() ? "never" : text(median(after)) + ", " + text(after.getLast()))
                  : "—")
          .append(" | ")
          .append(eta.isEmpty() ? "—" : pct(eta.get(eta.size() / 2)) + ", " + pct(eta.getLast()))
          .append(" | ")
          .append(rs.stream().mapToInt(Run::firings).max().orElse(0))
          .append(" | ")
          .append(res.isEmpty() ? "—" : text(res.getLast()))
          .append(" | ")
          .append(
              leak
                  ? baseAfter.size()
                      + "/"
                      + rs.size()
                      + (baseAfter.isEmpty() ? "" : ", " + text(median(baseAfter)))
                  : "—")
          .append(" | ")
          .append(baseEta.isEmpty() ? "—" : pct(baseEta.get(baseEta.size() / 2)))
          .append(" | ")
          .append(baseFalse)
          .append(" |\n");
    }
    return sb.toString();
  }

  private static Duration median(List<Duration> sorted) {
    return sorted.get(sorted.size() / 2);
  }

  private static String pct(double e) {
    return String.format(Locale.ROOT, "%.1f %%", 100 * e);
  }

  /** The failures of every run that did not pass, one line each. */
  public static String failures(List<Run> runs) {
    StringBuilder sb = new StringBuilder();
    for (Run r : runs) {
      for (String f : r.failures()) {
        sb.append(r.scenario())
            .append(" seed ")
            .append(r.seed())
            .append(": ")
            .append(f)
            .append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * Prints the per-class table, the failures, and each class's description. Arguments: seeds
   * (default {@link Scenarios#SEEDS}), then {@code promtool} to take node-mixin's pages from its
   * real rules run by Debian's promtool ({@link PromtoolNodeMixin}, a few seconds per trace)
   * instead of the in-process {@link NodeMixinBaseline}.
   */
  public static void main(String[] args) {
    int seeds = args.length > 0 ? Integer.parseInt(args[0]) : Scenarios.SEEDS;
    List<Run> runs = runAll(new DetectionFactory(), seeds);
    if (List.of(args).contains("promtool"))
      runs = runs.stream().map(ScenarioEvaluation::promtool).toList();
    System.out.print(table(runs));
    System.out.println();
    System.out.print(failures(runs));
    if (args.length > 1) {
      for (Scenarios.Scenario s : Scenarios.all())
        System.out.println("- `" + s.name() + "`: " + s.description());
    }
  }

  /** The run with node-mixin's first page taken from its real rules in promtool. */
  private static Run promtool(Run r) {
    PromtoolNodeMixin.Page p = PromtoolNodeMixin.firstPage(r.trace(), Duration.ofMinutes(30));
    NodeMixinBaseline.Page b =
        p == null
            ? null
            : new NodeMixinBaseline.Page(p.at(), p.subject(), p.severity(), p.impliedEta());
    return new Run(
        r.scenario(),
        r.seed(),
        r.trace(),
        r.transitions(),
        r.firstPage(),
        r.severity(),
        r.etaError(),
        r.truePages(),
        r.falsePages(),
        r.firings(),
        r.resolvedAfterRelease(),
        b,
        r.failures());
  }
}

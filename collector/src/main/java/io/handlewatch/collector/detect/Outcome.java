package io.handlewatch.collector.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * What the rules conclude about one host on one report, in the order they add it: verdicts (kinds
 * that page, at any severity: a trend too far from its limit is INFO) and findings (kinds that
 * never page). The engine folds the verdicts into incidents, pages them and stores both.
 */
final class Outcome {
  final List<Verdict> verdicts = new ArrayList<>();
  final List<Verdict> findings = new ArrayList<>();
  private final Predicate<String> paging;

  /**
   * @param paging whether an incident (by dedupKey) pages already
   */
  Outcome(Predicate<String> paging) {
    this.paging = paging;
  }

  /** Adds a verdict, or a finding when its kind never pages. */
  void add(Verdict v) {
    (v.kind().pages() ? verdicts : findings).add(v);
  }

  /**
   * Whether an incident pages already: of two verdicts joined into one incident, the one paging
   * keeps its name.
   */
  boolean paging(String dedupKey) {
    return paging.test(dedupKey);
  }
}

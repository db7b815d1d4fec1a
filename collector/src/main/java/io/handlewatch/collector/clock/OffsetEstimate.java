package io.handlewatch.collector.clock;

import java.util.ArrayDeque;

/**
 * One host's clock offset, from measurements {@code m = sent_time - receive_time}: each is the
 * offset minus that report's one-way latency, and latency only ever subtracts, so the estimate is
 * the largest recent measurement (the NTP min-delay filter). A measurement above the estimate by
 * more than {@link #STEP_MS} is a forward step, taken at once; one below it by as much is a
 * backward step or a delayed report, told apart by the next: two in a row at the new level are a
 * step. Not thread-safe: {@link ClockOffsets} holds the host's lock.
 */
final class OffsetEstimate {
  /**
   * A jump of the measurements larger than this is a clock step, not latency jitter. NTP steps
   * (rather than slews) above 128 ms; one second keeps loaded networks from faking steps.
   */
  static final long STEP_MS = 1_000;

  /** How far back the filter looks, and how many measurements it keeps. */
  static final long HORIZON_MS = 10 * 60_000;

  static final int MAX_KEPT = 64;

  private record Measured(long atMs, long offsetMs) {}

  private final ArrayDeque<Measured> kept = new ArrayDeque<>();
  private long estimateMs;

  /** A measurement below the estimate waiting for a second one to call it a step; null if none. */
  private Long low;

  /** What one measurement did to the estimate. */
  record Observed(long appliedMs, Long stepMs) {}

  boolean known() {
    return !kept.isEmpty();
  }

  long estimateMs() {
    return estimateMs;
  }

  /**
   * Adds a measurement taken at collector time {@code atMs} and returns the offset to apply to the
   * report it came from, and the step it revealed, if any.
   */
  Observed observe(long atMs, long offsetMs) {
    while (!kept.isEmpty()
        && (kept.peekFirst().atMs() < atMs - HORIZON_MS || kept.size() >= MAX_KEPT)) {
      kept.pollFirst();
    }
    if (kept.isEmpty()) {
      restart(atMs, offsetMs);
      return new Observed(offsetMs, null);
    }
    recompute();
    long before = estimateMs;
    if (offsetMs > before + STEP_MS) {
      restart(atMs, offsetMs);
      return new Observed(offsetMs, offsetMs - before);
    }
    if (offsetMs < before - STEP_MS) {
      if (low != null && Math.abs(offsetMs - low) <= STEP_MS) {
        long first = low;
        restart(atMs, Math.max(first, offsetMs));
        return new Observed(offsetMs, estimateMs - before);
      }
      // A report delayed in transit, or the first after a step back: either way its own
      // measurement places it better than the estimate does.
      low = offsetMs;
      return new Observed(offsetMs, null);
    }
    low = null;
    kept.addLast(new Measured(atMs, offsetMs));
    estimateMs = Math.max(estimateMs, offsetMs);
    return new Observed(estimateMs, null);
  }

  private void restart(long atMs, long offsetMs) {
    kept.clear();
    low = null;
    kept.addLast(new Measured(atMs, offsetMs));
    estimateMs = offsetMs;
  }

  private void recompute() {
    long max = Long.MIN_VALUE;
    for (Measured m : kept) max = Math.max(max, m.offsetMs());
    estimateMs = max;
  }
}

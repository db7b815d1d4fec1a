package io.handlewatch.collector.clock;

import java.util.ArrayDeque;

/**
 * One host's clock offset, from measurements {@code m = sent_time - receive_time}: each is the
 * offset minus that report's one-way latency, and latency only ever subtracts, so the estimate is
 * the largest recent measurement (the NTP min-delay filter).
 *
 * <p>A step of the host's clock is told from latency by the host's wall clock minus its
 * CLOCK_MONOTONIC, which a report gives when its sample carries the monotonic time and the boot:
 * latency cannot change that difference, a step changes it by exactly the step. The kept
 * measurements are then moved by the step, so the filter keeps what it learnt about latency, and a
 * report held up in transit, or a first report slower than the next ones while the estimate
 * settles, is never taken for a step.
 *
 * <p>Without that difference (a sample without monotonic time or boot), the measurements alone
 * decide: one above the estimate by more than {@link #STEP_MS} is a forward step, taken at once;
 * one below it by as much is a backward step or a delayed report, told apart by the next: two in a
 * row at the new level are a step. Not thread-safe: {@link ClockOffsets} holds the host's lock.
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

  /** The boot of the latest wall-minus-monotonic difference, and that difference; null if none. */
  private String wallBoot;

  private Long wallMinusMonoMs;

  /**
   * What one measurement did to the estimate.
   *
   * @param appliedMs the offset to apply to the report it came from
   * @param stepMs the step it revealed; null if none
   * @param ifDelayedMs when the measurement is below the estimate by more than a step and nothing
   *     yet tells a backward step from a report held up in transit: the offset to apply if it was
   *     held up (the estimate); null otherwise
   */
  record Observed(long appliedMs, Long stepMs, Long ifDelayedMs) {
    Observed(long appliedMs, Long stepMs) {
      this(appliedMs, stepMs, null);
    }
  }

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
    return observe(atMs, offsetMs, null, null);
  }

  /**
   * As {@link #observe(long, long)}, with the host's wall clock minus its CLOCK_MONOTONIC in boot
   * {@code boot} at the same moment ({@code wallMinusMonoMs}, null when the report cannot tell).
   */
  Observed observe(long atMs, long offsetMs, String boot, Long wallMinusMonoMs) {
    while (!kept.isEmpty()
        && (kept.peekFirst().atMs() < atMs - HORIZON_MS || kept.size() >= MAX_KEPT)) {
      kept.pollFirst();
    }
    if (wallMinusMonoMs != null) {
      boolean comparable = this.wallMinusMonoMs != null && boot.equals(wallBoot);
      long stepMs = comparable ? wallMinusMonoMs - this.wallMinusMonoMs : 0;
      wallBoot = boot;
      this.wallMinusMonoMs = wallMinusMonoMs;
      if (comparable && !kept.isEmpty()) return latencyOnly(atMs, offsetMs, stepMs);
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
      // The first after a step back, which its own measurement places right, or a report held up
      // in transit, which the estimate places right: the caller takes the one that keeps the
      // host's samples in order.
      low = offsetMs;
      return new Observed(offsetMs, null, before);
    }
    low = null;
    kept.addLast(new Measured(atMs, offsetMs));
    estimateMs = Math.max(estimateMs, offsetMs);
    return new Observed(estimateMs, null);
  }

  /**
   * The host's clock moved by exactly {@code stepMs} since the previous measurement (mostly 0, or a
   * millisecond of rounding); the rest of the change is latency.
   */
  private Observed latencyOnly(long atMs, long offsetMs, long stepMs) {
    low = null;
    if (stepMs != 0) {
      // Every kept measurement, taken at the host's old time, reads stepMs more at its new one.
      Measured[] moved = kept.toArray(Measured[]::new);
      kept.clear();
      for (Measured m : moved) kept.addLast(new Measured(m.atMs(), m.offsetMs() + stepMs));
    }
    kept.addLast(new Measured(atMs, offsetMs));
    recompute();
    return new Observed(estimateMs, Math.abs(stepMs) > STEP_MS ? stepMs : null);
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

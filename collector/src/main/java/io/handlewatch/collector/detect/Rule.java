package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;

/**
 * One detection rule: what one kind of trouble looks like in a host's window. The {@link
 * DetectionEngine} holds its rules in order and, for each report, has every rule judge the report's
 * host as of that report; the rules never call each other, and what joins their verdicts into one
 * incident (a leak's CLOSE_WAIT with its fds and ports) is the engine's. A rule runs on its
 * engine's thread only: whatever it keeps per host needs no lock.
 */
interface Rule {
  /**
   * Takes in a sample of {@code w}'s host, late ones and warm-up history included, after the window
   * has: for a rule that keeps series of its own beside the window ({@link KernelTableRule}).
   */
  default void add(HostWindow w, HostSample s, long timeMs) {}

  /**
   * Judges {@code w}'s host as of its newest sample {@code sample}, taken at {@code at}, adding its
   * verdicts and findings to {@code out}.
   */
  void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out);
}

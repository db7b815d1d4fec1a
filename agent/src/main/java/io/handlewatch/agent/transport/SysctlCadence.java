package io.handlewatch.agent.transport;

import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Sysctls change rarely and are most of a report's strings, so a report carries them only in the
 * first report of a stream, when a value changed since they were last sent, and at least every
 * {@code refresh} (an hour). Queued reports keep their sysctls; they are stripped at send time.
 */
public final class SysctlCadence {
  private final Clock clock;
  private final Duration refresh;
  private List<Sysctl> lastSent;
  private Instant lastSentAt;
  private boolean newStream = true;

  public SysctlCadence(Clock clock, Duration refresh) {
    this.clock = clock;
    this.refresh = refresh;
  }

  /** A new stream begins: its first report carries sysctls. */
  public synchronized void streamStarted() {
    newStream = true;
  }

  /** The report as it should go on the wire now. */
  public synchronized HostReport forSending(HostReport report) {
    List<Sysctl> sysctls = report.getSample().getSysctlsList();
    if (sysctls.isEmpty()) return report;
    Instant now = clock.instant();
    boolean send =
        newStream
            || !sysctls.equals(lastSent)
            || lastSentAt == null
            || !now.isBefore(lastSentAt.plus(refresh));
    if (send) {
      lastSent = sysctls;
      lastSentAt = now;
      newStream = false;
      return report;
    }
    return report.toBuilder().setSample(report.getSample().toBuilder().clearSysctls()).build();
  }
}

package io.handlewatch.agent.transport;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.time.Clock;
import java.time.Instant;
import java.util.function.LongSupplier;

/**
 * Stamps a report as it is handed to the transport with the agent's wall-clock time and the age of
 * its sample, so that the collector can measure this host's clock offset and place the sample on
 * its own timeline (docs/clock.md). The age comes from CLOCK_MONOTONIC when the sample was taken in
 * this boot, so a clock step between sampling and sending (NTP stepping while reports wait in the
 * spool) does not move the sample; across a reboot only the wall clocks can tell, and a negative
 * wall-clock age (the clock went back across the reboot) is left out rather than sent wrong.
 */
public final class SendStamp {
  private final Clock wall;
  private final LongSupplier monotonicNanos;
  private final String bootId;

  /**
   * @param wall the agent's wall clock (the one samples are stamped with)
   * @param monotonicNanos CLOCK_MONOTONIC, the clock of {@link HostSample#getMonotonicNanos()}
   * @param bootId this boot's {@code boot_id}; null when unknown (then only wall clocks are used)
   */
  public SendStamp(Clock wall, LongSupplier monotonicNanos, String bootId) {
    this.wall = wall;
    this.monotonicNanos = monotonicNanos;
    this.bootId = bootId;
  }

  /** The JVM's clocks: System.nanoTime() is CLOCK_MONOTONIC on Linux, the same in every process. */
  public static SendStamp system(String bootId) {
    return new SendStamp(Clock.systemUTC(), System::nanoTime, bootId);
  }

  public HostReport stamp(HostReport report) {
    long mono = monotonicNanos.getAsLong();
    Instant now = wall.instant();
    HostReport.Builder b =
        report.toBuilder()
            .setSentTime(
                Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()));
    HostSample s = report.getSample();
    long ageNanos;
    if (bootId != null && s.hasMonotonicNanos() && bootId.equals(s.getHost().getBootId())) {
      ageNanos = mono - s.getMonotonicNanos();
    } else {
      var t = s.getTime();
      ageNanos =
          java.time.Duration.between(Instant.ofEpochSecond(t.getSeconds(), t.getNanos()), now)
              .toNanos();
    }
    if (ageNanos >= 0) {
      b.setSampleAge(
          Duration.newBuilder()
              .setSeconds(ageNanos / 1_000_000_000L)
              .setNanos((int) (ageNanos % 1_000_000_000L)));
    } else {
      b.clearSampleAge();
    }
    return b.build();
  }
}

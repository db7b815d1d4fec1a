package io.handlewatch.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SendStampTest {
  private static final Instant SAMPLED = Instant.parse("2026-01-01T10:00:00Z");

  private static HostReport report(String boot, Long mono) {
    HostSample.Builder s =
        HostSample.newBuilder()
            .setTime(Timestamp.newBuilder().setSeconds(SAMPLED.getEpochSecond()))
            .setHost(HostIdentity.newBuilder().setHostname("h").setBootId(boot));
    if (mono != null) s.setMonotonicNanos(mono);
    return HostReport.newBuilder().setSeq(1).setSample(s).build();
  }

  @Test
  void ageComesFromTheMonotonicClockInTheSameBootWhateverTheWallClockDid() {
    // Sampled at monotonic 100 s; sent at monotonic 130 s, after the wall clock stepped back 5 min.
    AtomicLong mono = new AtomicLong(130_000_000_000L);
    Instant sentAt = SAMPLED.plusSeconds(30).minusSeconds(300);
    var stamp = new SendStamp(Clock.fixed(sentAt, ZoneOffset.UTC), mono::get, "boot-a");

    HostReport out = stamp.stamp(report("boot-a", 100_000_000_000L));

    assertThat(out.getSampleAge().getSeconds()).isEqualTo(30);
    assertThat(out.getSampleAge().getNanos()).isZero();
    assertThat(out.getSentTime().getSeconds()).isEqualTo(sentAt.getEpochSecond());
    assertThat(out.getSample()).isEqualTo(report("boot-a", 100_000_000_000L).getSample());
  }

  @Test
  void aSampleOfAnotherBootIsAgedByTheWallClock() {
    var stamp =
        new SendStamp(
            Clock.fixed(SAMPLED.plusMillis(42_500), ZoneOffset.UTC), () -> 5_000_000L, "boot-b");

    HostReport out = stamp.stamp(report("boot-a", 999_000_000_000L));

    assertThat(out.getSampleAge().getSeconds()).isEqualTo(42);
    assertThat(out.getSampleAge().getNanos()).isEqualTo(500_000_000);
  }

  @Test
  void aNegativeWallClockAgeIsLeftOutNotSentWrong() {
    var stamp =
        new SendStamp(Clock.fixed(SAMPLED.minusSeconds(3600), ZoneOffset.UTC), () -> 1L, null);

    HostReport out = stamp.stamp(report("boot-a", 7L));

    assertThat(out.hasSampleAge()).isFalse();
    assertThat(out.hasSentTime()).isTrue();
  }

  @Test
  void aReplayIsStampedAnewAtEachSending() {
    AtomicLong mono = new AtomicLong(10_000_000_000L);
    var stamp = new SendStamp(Clock.systemUTC(), mono::get, "boot-a");
    HostReport first = stamp.stamp(report("boot-a", 4_000_000_000L));
    mono.addAndGet(20_000_000_000L);

    HostReport again = stamp.stamp(first);

    assertThat(first.getSampleAge().getSeconds()).isEqualTo(6);
    assertThat(again.getSampleAge().getSeconds()).isEqualTo(26);
  }
}

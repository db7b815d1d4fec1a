package io.handlewatch.agent.transport;

import static io.handlewatch.agent.transport.CollectorLinkTest.report;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.proto.v1.HostReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QueueAndSequenceTest {
  @Test
  void queueDropsTheOldestFirstAndCountsThem() {
    MemoryReportQueue q = new MemoryReportQueue(3, 1 << 20);
    for (long s = 1; s <= 5; s++) q.append(report(s));
    assertThat(q.size()).isEqualTo(3);
    assertThat(q.dropped()).isEqualTo(2);
    assertThat(q.next(0).orElseThrow().getSeq()).isEqualTo(3);
    assertThat(q.next(3).orElseThrow().getSeq()).isEqualTo(4);
    q.ackUpTo(4);
    assertThat(q.size()).isEqualTo(1);
    assertThat(q.next(0).orElseThrow().getSeq()).isEqualTo(5);
    assertThatThrownBy(() -> q.append(report(5))).hasMessageContaining("does not follow");
  }

  @Test
  void queueHonoursItsByteBound() {
    int one = report(1).getSerializedSize();
    MemoryReportQueue q = new MemoryReportQueue(1000, one * 2L + 1);
    for (long s = 1; s <= 10; s++) q.append(report(s));
    assertThat(q.bytes()).isLessThanOrEqualTo(one * 2L + 1);
    assertThat(q.size()).isEqualTo(2);
    assertThat(q.dropped()).isEqualTo(8);
  }

  @Test
  void sequenceSurvivesRestartsAndNeverRepeats(@TempDir Path dir) {
    Set<Long> seen = new HashSet<>();
    long last = 0;
    for (int restart = 0; restart < 3; restart++) {
      SequenceFile seq = new SequenceFile(dir);
      for (int i = 0; i < 1500; i++) {
        long s = seq.next();
        assertThat(s).isGreaterThan(last);
        assertThat(seen.add(s)).isTrue();
        last = s;
      }
    }
  }

  @Test
  void lastIsTheLastSeqHandedOutByThisInstanceNotTheReservedBlock(@TempDir Path dir) {
    SequenceFile first = new SequenceFile(dir);
    assertThat(first.last()).isZero();
    first.next();
    long second = first.next();
    assertThat(first.last()).isEqualTo(second).isEqualTo(2);
    // Restarted: the file holds the reserved block's end (1000), but nothing was taken yet.
    SequenceFile again = new SequenceFile(dir);
    assertThat(again.last()).isZero();
    long taken = again.next();
    assertThat(again.last()).isEqualTo(taken).isGreaterThan(1000);
  }

  @Test
  void numberingSkipsPastWhatTheSpoolHoldsAndStaysAboveItAfterARestart(@TempDir Path dir) {
    SequenceFile seq = new SequenceFile(dir);
    assertThat(seq.next()).isEqualTo(1);
    seq.skipPast(5000); // the seq file was lost while the spool kept reports up to 5000
    assertThat(seq.next()).isEqualTo(5001);
    seq.skipPast(10);
    assertThat(seq.next()).as("never backwards").isEqualTo(5002);
    assertThat(new SequenceFile(dir).next()).isGreaterThan(5002);
  }

  @Test
  void aCorruptSequenceFileIsNamed(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("seq"), "garbage");
    assertThatThrownBy(() -> new SequenceFile(dir))
        .hasMessageContaining(dir.resolve("seq").toString());
  }

  @Test
  void sysctlsGoOnChangeAndHourly() {
    var clock = new MutableClock(Instant.parse("2026-11-24T00:00:00Z"));
    SysctlCadence c = new SysctlCadence(clock, Duration.ofHours(1));
    HostReport r = report(1);
    assertThat(c.forSending(r).getSample().getSysctlsCount()).isEqualTo(1);
    assertThat(c.forSending(report(2)).getSample().getSysctlsCount()).isZero();
    HostReport changed =
        report(3).toBuilder()
            .setSample(
                report(3).getSample().toBuilder()
                    .setSysctls(0, r.getSample().getSysctls(0).toBuilder().setValue("128")))
            .build();
    assertThat(c.forSending(changed).getSample().getSysctlsCount()).isEqualTo(1);
    assertThat(c.forSending(changed).getSample().getSysctlsCount()).isZero();
    clock.now = clock.now.plus(Duration.ofMinutes(61));
    assertThat(c.forSending(changed).getSample().getSysctlsCount()).isEqualTo(1);
    c.streamStarted();
    assertThat(c.forSending(changed).getSample().getSysctlsCount()).isEqualTo(1);
  }

  static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}

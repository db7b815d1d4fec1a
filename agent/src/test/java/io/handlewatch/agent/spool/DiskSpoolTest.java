package io.handlewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk spool against real files in a temp directory. */
class DiskSpoolTest {
  @TempDir Path dir;
  private final List<DiskSpool> opened = new ArrayList<>();
  private final AtomicLong clock = new AtomicLong();

  @AfterEach
  void closeAll() {
    opened.forEach(DiskSpool::close);
  }

  static HostReport report(long seq, int padding) {
    return HostReport.newBuilder()
        .setSeq(seq)
        .setSample(
            HostSample.newBuilder()
                .setTime(Timestamp.newBuilder().setSeconds(1_700_000_000L + seq))
                .setHost(HostIdentity.newBuilder().setHostname("web-1"))
                .addSysctls(Sysctl.newBuilder().setName("pad").setValue("x".repeat(padding))))
        .build();
  }

  static int framed(HostReport r) {
    return SpoolRecord.HEADER + r.getSerializedSize();
  }

  private DiskSpool open(long maxBytes, long segmentBytes) {
    return open(new SpoolConfig(dir, maxBytes, segmentBytes, FsyncPolicy.ALWAYS, 100, 1 << 20));
  }

  private DiskSpool open(SpoolConfig config) {
    DiskSpool s = DiskSpool.open(config, clock::get);
    opened.add(s);
    return s;
  }

  /** Every seq the spool would send, in order, from the start. */
  static List<Long> drain(DiskSpool s) {
    List<Long> seqs = new ArrayList<>();
    long after = 0;
    for (Optional<HostReport> r = s.next(after); r.isPresent(); r = s.next(after)) {
      after = r.get().getSeq();
      seqs.add(after);
    }
    return seqs;
  }

  static List<Long> range(long from, long to) {
    List<Long> l = new ArrayList<>();
    for (long i = from; i <= to; i++) l.add(i);
    return l;
  }

  private List<Path> segmentFiles() throws IOException {
    try (Stream<Path> l = Files.list(dir)) {
      return l.filter(p -> p.toString().endsWith(".spool")).sorted().toList();
    }
  }

  private long bytesOnDisk() throws IOException {
    long n = 0;
    for (Path p : segmentFiles()) n += Files.size(p);
    return n;
  }

  @Test
  void sendsInOrderAndForgetsWhatIsAcknowledged() {
    DiskSpool s = open(1 << 20, 64 << 10);
    for (long i = 1; i <= 5; i++) s.append(report(i, 10));
    assertThat(s.next(0).orElseThrow().getSeq()).isEqualTo(1);
    assertThat(s.next(2).orElseThrow().getSeq()).isEqualTo(3);
    assertThat(s.next(5)).isEmpty();
    assertThat(s.next(0).orElseThrow()).isEqualTo(report(1, 10));
    s.ackUpTo(3);
    assertThat(s.size()).isEqualTo(2);
    assertThat(drain(s)).containsExactly(4L, 5L);
    assertThat(s.next(0).orElseThrow().getSeq()).as("acked ones are never sent").isEqualTo(4);
    assertThatThrownBy(() -> s.append(report(5, 10))).hasMessageContaining("does not follow");
  }

  @Test
  void aFullyAcknowledgedSegmentIsDeleted() throws IOException {
    HostReport one = report(1, 100);
    DiskSpool s = open(1 << 20, framed(one) * 3L);
    for (long i = 1; i <= 10; i++) s.append(report(i, 100));
    assertThat(segmentFiles()).hasSize(4);
    s.ackUpTo(7);
    assertThat(segmentFiles()).as("segments 1-3 and 4-6 are gone").hasSize(2);
    s.ackUpTo(10);
    assertThat(segmentFiles()).as("the segment being appended to stays").hasSize(1);
    assertThat(s.size()).isZero();
    assertThat(s.diskBytes()).isEqualTo(bytesOnDisk());
  }

  @Test
  void aRestartReplaysExactlyTheUnacknowledged() {
    DiskSpool s = open(1 << 20, 4096);
    for (long i = 1; i <= 50; i++) s.append(report(i, 200));
    s.ackUpTo(17);
    // No close: the process dies here.
    DiskSpool again = open(1 << 20, 4096);
    assertThat(again.size()).isEqualTo(33);
    assertThat(drain(again)).isEqualTo(range(18, 50));
    assertThat(again.lastSeq()).isEqualTo(50);
    assertThat(again.dropped()).isZero();
    again.append(report(51, 200));
    assertThat(drain(again)).isEqualTo(range(18, 51));
  }

  @Test
  void aTornTailIsCutOffAndCountedOnce() throws IOException {
    DiskSpool s = open(1 << 20, 64 << 10);
    for (long i = 1; i <= 5; i++) s.append(report(i, 100));
    s.close();
    Path file = segmentFiles().getLast();
    long whole = Files.size(file);
    // The last append was cut short: only part of its record reached the disk.
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(whole - 30);
    }
    DiskSpool again = open(1 << 20, 64 << 10);
    assertThat(drain(again)).isEqualTo(range(1, 4));
    assertThat(again.tornTails()).isEqualTo(1);
    assertThat(again.dropped()).isEqualTo(1);
    assertThat(Files.size(file)).isEqualTo(whole - framed(report(5, 100)));
    again.append(report(6, 100));
    again.close();

    DiskSpool third = open(1 << 20, 64 << 10);
    assertThat(drain(third)).containsExactly(1L, 2L, 3L, 4L, 6L);
    assertThat(third.tornTails()).isZero();
    assertThat(third.dropped()).as("counted once, across restarts").isEqualTo(1);
  }

  @Test
  void zeroesAtTheEndAfterAPowerCutAreATornTail() throws IOException {
    DiskSpool s = open(1 << 20, 64 << 10);
    for (long i = 1; i <= 3; i++) s.append(report(i, 100));
    s.close();
    Files.write(segmentFiles().getLast(), new byte[500], java.nio.file.StandardOpenOption.APPEND);
    DiskSpool again = open(1 << 20, 64 << 10);
    assertThat(drain(again)).isEqualTo(range(1, 3));
    assertThat(again.tornTails()).isEqualTo(1);
  }

  private static void flip(Path file, long offset) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x5A);
    }
  }

  @Test
  void aDamagedRecordInTheMiddleIsSkippedCountedAndTheRestDelivered() throws IOException {
    DiskSpool s = open(1 << 20, 64 << 10);
    for (long i = 1; i <= 10; i++) s.append(report(i, 100));
    s.close();
    int size = framed(report(1, 100));
    Path file = segmentFiles().getFirst();
    flip(file, 4L * size + SpoolRecord.HEADER + 40); // payload of seq 5
    flip(file, 7L * size + 5); // length field of seq 8: the reader must find its way back

    DiskSpool again = open(1 << 20, 64 << 10);
    assertThat(drain(again)).containsExactly(1L, 2L, 3L, 4L, 6L, 7L, 9L, 10L);
    assertThat(again.damagedRecords()).isEqualTo(2);
    assertThat(again.dropped()).isEqualTo(2);
    assertThat(again.size()).isEqualTo(8);
    assertThat(again.diskBytes()).isEqualTo(bytesOnDisk()).isEqualTo(8L * size);
    again.close();

    DiskSpool third = open(1 << 20, 64 << 10);
    assertThat(drain(third)).hasSize(8);
    assertThat(third.damagedRecords()).as("rewritten without the damage").isZero();
    assertThat(third.dropped()).isEqualTo(2);
  }

  @Test
  void damageInAnOlderSegmentIsNotMistakenForATornTail() throws IOException {
    HostReport one = report(1, 100);
    DiskSpool s = open(1 << 20, framed(one) * 4L);
    for (long i = 1; i <= 12; i++) s.append(report(i, 100));
    s.close();
    Path first = segmentFiles().getFirst();
    flip(first, Files.size(first) - 3); // the last record of the oldest segment
    DiskSpool again = open(1 << 20, framed(one) * 4L);
    assertThat(drain(again)).isEqualTo(List.of(1L, 2L, 3L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L));
    assertThat(again.tornTails()).isZero();
    assertThat(again.damagedRecords()).isEqualTo(1);
  }

  @Test
  void damageFoundWhileRunningIsSkippedAndCounted() throws IOException {
    DiskSpool s = open(1 << 20, 64 << 10);
    for (long i = 1; i <= 4; i++) s.append(report(i, 100));
    flip(segmentFiles().getFirst(), framed(report(1, 100)) + SpoolRecord.HEADER + 10L);
    assertThat(drain(s)).containsExactly(1L, 3L, 4L);
    assertThat(s.dropped()).isEqualTo(1);
    assertThat(s.size()).isEqualTo(3);
    s.append(report(5, 100));
    s.close();
    DiskSpool again = open(1 << 20, 64 << 10);
    assertThat(drain(again)).containsExactly(1L, 3L, 4L, 5L);
    assertThat(again.dropped()).as("not counted a second time").isEqualTo(1);
  }

  @Test
  void aFullSpoolDropsTheOldestAndCountsExactly() throws IOException {
    long max = 64 << 10;
    DiskSpool s = open(max, 4096);
    int n = 400;
    for (long i = 1; i <= n; i++) {
      s.append(report(i, 300));
      assertThat(bytesOnDisk()).isLessThanOrEqualTo(max);
    }
    List<Long> kept = drain(s);
    long first = kept.getFirst();
    assertThat(kept).as("the newest, with no gap").isEqualTo(range(first, n));
    assertThat(s.dropped()).isEqualTo(first - 1).isEqualTo(n - s.size());
    assertThat(s.diskBytes()).isEqualTo(bytesOnDisk());
    s.close();
    DiskSpool again = open(max, 4096);
    assertThat(again.dropped()).as("the count survives a restart").isEqualTo(first - 1);
    assertThat(drain(again)).isEqualTo(kept);
  }

  @Test
  void aReportLargerThanTheWholeSpoolIsDroppedAndTheSpoolGoesOn() {
    DiskSpool s = open(SpoolConfig.MIN_BYTES, 4096);
    s.append(report(1, 100));
    s.append(report(2, (int) SpoolConfig.MIN_BYTES));
    s.append(report(3, 100));
    assertThat(drain(s)).containsExactly(1L, 3L);
    assertThat(s.oversized()).isEqualTo(1);
    assertThat(s.dropped()).isEqualTo(1);
  }

  @Test
  void aReportLargerThanASegmentGetsOneOfItsOwn() throws IOException {
    DiskSpool s = open(SpoolConfig.MIN_BYTES, 4096);
    s.append(report(1, 100));
    s.append(report(2, 10_000));
    s.append(report(3, 100));
    assertThat(drain(s)).containsExactly(1L, 2L, 3L);
    assertThat(segmentFiles()).hasSize(3);
    assertThat(s.dropped()).isZero();
  }

  @Test
  void aLowerBoundAtStartDropsTheOldestToFit() {
    DiskSpool s = open(1 << 20, 4096);
    for (long i = 1; i <= 300; i++) s.append(report(i, 300));
    s.close();
    DiskSpool smaller = open(SpoolConfig.MIN_BYTES, 4096);
    assertThat(smaller.diskBytes()).isLessThanOrEqualTo(SpoolConfig.MIN_BYTES);
    List<Long> kept = drain(smaller);
    assertThat(kept).isEqualTo(range(kept.getFirst(), 300));
    assertThat(smaller.dropped()).isEqualTo(300 - kept.size());
  }

  /** A file where the spool directory's parent should be: the directory cannot be made. */
  private Path blockedDir() throws IOException {
    Path blocker = dir.resolve("not-a-dir");
    Files.writeString(blocker, "a file where the spool directory should be");
    return blocker;
  }

  @Test
  void anUnusableDirectoryKeepsReportsInMemoryAndTheDiskIsTriedAgain() throws IOException {
    Path blocker = blockedDir();
    DiskSpool s =
        open(
            new SpoolConfig(
                blocker.resolve("spool"), 1 << 20, 4096, FsyncPolicy.ALWAYS, 3, 1 << 20));
    assertThat(s.onDisk()).isFalse();
    assertThat(s.diskErrors()).isEqualTo(1);
    for (long i = 1; i <= 5; i++) s.append(report(i, 10));
    assertThat(drain(s)).as("memory holds 3; the oldest went").containsExactly(3L, 4L, 5L);
    assertThat(s.dropped()).isEqualTo(2);

    Files.delete(blocker);
    s.append(report(6, 10));
    assertThat(s.onDisk()).as("not before a minute has passed").isFalse();
    clock.addAndGet(TimeUnit.SECONDS.toNanos(61));
    s.append(report(7, 10));
    assertThat(s.onDisk()).isTrue();
    assertThat(Files.list(blocker.resolve("spool")).filter(p -> p.toString().endsWith(".spool")))
        .hasSize(1);
    assertThat(drain(s)).as("memory and disk, in seq order").containsExactly(4L, 5L, 6L, 7L);
    s.ackUpTo(6);
    assertThat(drain(s)).containsExactly(7L);
    assertThat(s.size()).isEqualTo(1);
  }

  @Test
  void reportsStillInMemoryAtStopAreCountedAsDropped() throws IOException {
    Path blocker = blockedDir();
    DiskSpool s =
        open(
            new SpoolConfig(
                blocker.resolve("spool"), 1 << 20, 4096, FsyncPolicy.ALWAYS, 10, 1 << 20));
    for (long i = 1; i <= 4; i++) s.append(report(i, 10));
    Files.delete(blocker);
    clock.addAndGet(TimeUnit.SECONDS.toNanos(61));
    s.append(report(5, 10));
    s.close();
    DiskSpool again =
        open(
            new SpoolConfig(
                blocker.resolve("spool"), 1 << 20, 4096, FsyncPolicy.ALWAYS, 10, 1 << 20));
    assertThat(again.dropped()).isEqualTo(4);
    assertThat(drain(again)).containsExactly(5L);
  }

  @Test
  void aDamagedStateFileIsSaidAndStartsOver() throws IOException {
    DiskSpool s = open(1 << 20, 4096);
    for (long i = 1; i <= 3; i++) s.append(report(i, 10));
    s.ackUpTo(2);
    s.close();
    Files.writeString(dir.resolve(SpoolStateFile.NAME), "garbage");
    DiskSpool again = open(1 << 20, 4096);
    assertThat(drain(again)).as("the ack point is lost: resent").containsExactly(1L, 2L, 3L);
  }

  @Test
  void everyPolicySurvivesAReopen() {
    for (FsyncPolicy p : FsyncPolicy.values()) {
      Path d = dir.resolve(p.name());
      DiskSpool s = open(new SpoolConfig(d, 1 << 20, 4096, p, 10, 1 << 20));
      for (long i = 1; i <= 20; i++) s.append(report(i, 300));
      s.flush();
      DiskSpool again = open(new SpoolConfig(d, 1 << 20, 4096, p, 10, 1 << 20));
      assertThat(drain(again)).as(p.name()).isEqualTo(range(1, 20));
    }
  }
}

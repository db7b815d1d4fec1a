package io.handlewatch.agent.spool;

import static io.handlewatch.agent.spool.DiskSpoolTest.drain;
import static io.handlewatch.agent.spool.DiskSpoolTest.range;
import static io.handlewatch.agent.spool.DiskSpoolTest.report;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.testing.Tmpfs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spool on a real full disk: a 32 KiB tmpfs, far below the spool's own bound, so it is ENOSPC
 * that stops the writes. The oldest reports make way and are counted exactly; when the disk is full
 * of something else, reports wait in memory and the spool goes back to disk once there is room
 * again.
 */
class DiskSpoolTmpfsIT {
  @TempDir Path dir;

  private static SpoolConfig config(Path dir) {
    return new SpoolConfig(dir, 1 << 20, 8192, FsyncPolicy.ALWAYS, 50, 1 << 20);
  }

  @Test
  void aFullDiskDropsTheOldestAndCountsThemExactly() throws Exception {
    try (Tmpfs tmpfs = Tmpfs.mount(dir.resolve("disk"), "32k")) {
      DiskSpool spool = DiskSpool.open(config(tmpfs.dir()));
      try {
        int n = 300;
        for (long i = 1; i <= n; i++) spool.append(report(i, 400));
        assertThat(spool.onDisk()).isTrue();
        assertThat(spool.diskBytes()).isLessThanOrEqualTo(32 << 10);
        List<Long> kept = drain(spool);
        long first = kept.getFirst();
        assertThat(first).as("some had to go").isGreaterThan(1);
        assertThat(kept).as("the newest, no gap").isEqualTo(range(first, n));
        assertThat(spool.dropped()).as("counted exactly").isEqualTo(first - 1);
        spool.close();
        spool = DiskSpool.open(config(tmpfs.dir()));
        assertThat(spool.dropped())
            .as("the count was written on the full disk too")
            .isEqualTo(first - 1);
      } finally {
        spool.close();
      }
    }
  }

  @Test
  void aDiskFullOfSomethingElseSendsReportsToMemoryUntilThereIsRoom() throws Exception {
    try (Tmpfs tmpfs = Tmpfs.mount(dir.resolve("disk"), "32k")) {
      AtomicLong clock = new AtomicLong();
      DiskSpool spool = DiskSpool.open(config(tmpfs.dir()), clock::get);
      try {
        Path filler = tmpfs.dir().resolve("filler");
        try (OutputStream out = Files.newOutputStream(filler)) {
          byte[] block = new byte[1024];
          while (true) out.write(block);
        } catch (IOException noSpace) {
          assertThat(noSpace).hasMessageContaining("No space left");
        }
        for (long i = 1; i <= 60; i++) spool.append(report(i, 400));
        assertThat(spool.onDisk()).as("fell back to memory").isFalse();
        assertThat(spool.diskErrors()).isEqualTo(1);
        assertThat(spool.inMemory()).as("its bound").isEqualTo(50);
        assertThat(drain(spool)).isEqualTo(range(11, 60));
        assertThat(spool.dropped()).isEqualTo(10);

        Files.delete(filler);
        clock.addAndGet(TimeUnit.SECONDS.toNanos(61));
        spool.append(report(61, 400));
        assertThat(spool.onDisk()).as("back on disk").isTrue();
        assertThat(drain(spool)).as("memory, then disk, in order").isEqualTo(range(11, 61));
        spool.ackUpTo(61);
        assertThat(spool.size()).isZero();
      } finally {
        spool.close();
      }
    }
  }
}

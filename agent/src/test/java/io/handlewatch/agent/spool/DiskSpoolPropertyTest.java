package io.handlewatch.agent.spool;

import static io.handlewatch.agent.spool.DiskSpoolTest.drain;
import static io.handlewatch.agent.spool.DiskSpoolTest.framed;
import static io.handlewatch.agent.spool.DiskSpoolTest.report;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.testing.RandomCases;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The spool against a model under random appends (now and then larger than the whole spool), acks,
 * reads, clean restarts and crashes: after every step the files on disk stay within the bound (the
 * issue allows bound plus one record; the spool keeps to the bound itself), what the spool would
 * send is exactly what the model says is pending, and every drop is of the oldest pending reports
 * and is counted.
 */
class DiskSpoolPropertyTest {
  @TempDir Path root;

  static Stream<Long> seeds() {
    return RandomCases.seeds(25);
  }

  private static long bytesOnDisk(Path dir) throws IOException {
    long n = 0;
    try (Stream<Path> l = Files.list(dir)) {
      for (Path p : l.filter(p -> p.toString().endsWith(Segment.SUFFIX)).toList()) {
        n += Files.size(p);
      }
    }
    return n;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void theBoundHoldsAndOnlyTheOldestGoUnderRandomOperations(long seed) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    Path dir = root.resolve(Long.toString(seed));
    long max = SpoolConfig.MIN_BYTES * (1 + r.nextInt(3));
    long segment = Math.min(max, 2048L * (1 + r.nextInt(12)));
    SpoolConfig config = new SpoolConfig(dir, max, segment, FsyncPolicy.NEVER, 10, 1 << 20);
    List<DiskSpool> opened = new ArrayList<>();
    DiskSpool spool = DiskSpool.open(config);
    opened.add(spool);
    List<Long> pending = new ArrayList<>();
    long seq = 0;
    long dropped = 0;
    try {
      for (int step = 0; step < 400; step++) {
        int op = r.nextInt(100);
        if (op < 70) {
          seq += 1 + (r.nextInt(10) == 0 ? r.nextInt(5) : 0);
          boolean huge = r.nextInt(50) == 0;
          HostReport rep = report(seq, huge ? (int) max : 50 + r.nextInt(2500));
          spool.append(rep);
          if (framed(rep) > max) {
            dropped++;
          } else {
            pending.add(seq);
          }
          List<Long> kept = drain(spool);
          assertThat(pending)
              .as("step %d: what is kept is the newest", step)
              .endsWith(kept.toArray(Long[]::new));
          dropped += pending.size() - kept.size();
          pending = new ArrayList<>(kept);
        } else if (op < 80) {
          long upTo =
              pending.isEmpty() || r.nextBoolean()
                  ? r.nextLong(seq + 1)
                  : pending.get(r.nextInt(pending.size()));
          spool.ackUpTo(upTo);
          pending.removeIf(s -> s <= upTo);
        } else if (op < 92) {
          long after = r.nextLong(seq + 2);
          Long expected = pending.stream().filter(s -> s > after).findFirst().orElse(null);
          assertThat(spool.next(after).map(HostReport::getSeq).orElse(null))
              .as("step %d: next after %d", step, after)
              .isEqualTo(expected);
        } else {
          if (r.nextBoolean()) spool.close(); // else: a crash, the files as they are
          spool = DiskSpool.open(config);
          opened.add(spool);
          assertThat(drain(spool)).as("step %d: after a restart", step).isEqualTo(pending);
          assertThat(spool.lastSeq())
              .isGreaterThanOrEqualTo(pending.isEmpty() ? 0 : pending.getLast());
        }
        long onDisk = bytesOnDisk(dir);
        assertThat(onDisk)
            .as("step %d: bytes on disk within the bound %d", step, max)
            .isLessThanOrEqualTo(max);
        assertThat(spool.diskBytes()).as("step %d: accounted bytes", step).isEqualTo(onDisk);
        assertThat(spool.size()).as("step %d: size", step).isEqualTo(pending.size());
        assertThat(spool.dropped())
            .as("step %d: dropped, counted exactly", step)
            .isEqualTo(dropped);
      }
    } finally {
      opened.forEach(DiskSpool::close);
    }
  }
}

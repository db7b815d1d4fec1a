package io.handlewatch.agent.source.natives;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
  @Test
  void readsTheSameClockAsTheThreadMxBean() {
    var mx = ManagementFactory.getThreadMXBean();
    long mx0 = mx.getCurrentThreadCpuTime();
    long ours0 = ThreadCpu.nanos();
    long spin = 0;
    // Busy for at least 50 ms of this thread's CPU, measured by the JDK's clock.
    while (mx.getCurrentThreadCpuTime() - mx0 < 50_000_000L) {
      spin += Long.numberOfTrailingZeros(spin + System.nanoTime());
    }
    long ours1 = ThreadCpu.nanos();
    long mx1 = mx.getCurrentThreadCpuTime();
    assertThat(spin).isPositive();
    assertThat(ours0).isGreaterThanOrEqualTo(mx0);
    assertThat(ours1).isLessThanOrEqualTo(mx1);
    assertThat(ours1 - ours0).isBetween(50_000_000L - (ours0 - mx0), mx1 - mx0);
  }

  @Test
  void countsOnlyTheCallingThread() throws Exception {
    long[] other = new long[1];
    Thread t =
        new Thread(
            () -> {
              long c0 = ThreadCpu.nanos();
              long x = 0;
              while (ThreadCpu.nanos() - c0 < 30_000_000L) {
                x += System.nanoTime() & 1;
              }
              other[0] = ThreadCpu.nanos() - c0 + (x & 0);
            });
    long mine0 = ThreadCpu.nanos();
    t.start();
    t.join();
    long mine = ThreadCpu.nanos() - mine0;
    assertThat(other[0]).isGreaterThanOrEqualTo(30_000_000L);
    // Waiting in join() costs this thread next to nothing: far less than the other's 30 ms.
    assertThat(mine).isLessThan(20_000_000L);
  }
}

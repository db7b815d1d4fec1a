package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ReportRateLimiterTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final ReportRateLimiter limiter = new ReportRateLimiter(2, 5, now::get);

  private int takes(String agent, int tries) {
    int ok = 0;
    for (int i = 0; i < tries; i++) if (limiter.tryTake(agent)) ok++;
    return ok;
  }

  @Test
  void aBurstPassesThenTheSustainedRate() {
    assertThat(takes("web-1", 20)).isEqualTo(5);
    now.addAndGet(TimeUnit.SECONDS.toNanos(2));
    assertThat(takes("web-1", 20)).as("2/s for 2 s").isEqualTo(4);
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(400));
    assertThat(takes("web-1", 1)).as("0.8 of a token").isZero();
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
    assertThat(takes("web-1", 1)).isEqualTo(1);
  }

  @Test
  void agentsHaveTheirOwnBuckets() {
    assertThat(takes("web-1", 20)).isEqualTo(5);
    assertThat(takes("db-1", 5)).isEqualTo(5);
  }

  @Test
  void theBucketNeverHoldsMoreThanTheBurst() {
    now.addAndGet(TimeUnit.HOURS.toNanos(1));
    assertThat(takes("web-1", 100)).isEqualTo(5);
  }

  @Test
  void refilledBucketsAreForgotten() {
    for (int i = 0; i < 5000; i++) limiter.tryTake("host-" + i);
    now.addAndGet(TimeUnit.SECONDS.toNanos(10));
    for (int i = 0; i < 4096; i++) limiter.tryTake("web-1");
    assertThat(limiter.trackedAgents()).isLessThan(10);
  }
}

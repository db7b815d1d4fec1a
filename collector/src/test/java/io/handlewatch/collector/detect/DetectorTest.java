package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.TestReports;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class DetectorTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");

  @Test
  void aFullQueueSkipsAndCountsWithoutBlocking() throws Exception {
    DetectionFactory config = new DetectionFactory();
    config.queueCapacity = 2;
    MetricRegistry metrics = new MetricRegistry();
    MemoryStore store = new MemoryStore(64 << 20, Duration.ofHours(6), Clock.systemUTC(), metrics);
    Detector d = new Detector(config, store, metrics, Clock.systemUTC());
    // Not started: nothing drains the queue, so the third and fourth reports find it full.
    for (int i = 1; i <= 4; i++) d.stored(TestReports.report("h", i, T0.plusSeconds(10L * i)));

    assertThat(metrics.counter("detect.queue.dropped").getCount()).isEqualTo(2);
    assertThat(metrics.getGauges().get("detect.queue.depth").getValue()).isEqualTo(2);

    d.start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (metrics.meter("detect.evaluations").getCount() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(metrics.meter("detect.evaluations").getCount()).isEqualTo(2);
      assertThat(metrics.timer("detect.cost").getCount()).isEqualTo(2);
    } finally {
      d.stop();
    }
  }
}

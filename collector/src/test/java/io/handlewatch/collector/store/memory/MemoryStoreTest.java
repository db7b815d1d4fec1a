package io.handlewatch.collector.store.memory;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SampleStoreContract;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class MemoryStoreTest extends SampleStoreContract {
  private final MetricRegistry metrics = new MetricRegistry();

  @Override
  protected SampleStore newStore() {
    return new MemoryStore(
        64L << 20, Duration.ofHours(6), Clock.fixed(t0.plusSeconds(3600), ZoneOffset.UTC), metrics);
  }

  private MemoryStore sized(long bytes, Instant now) {
    return new MemoryStore(
        bytes, Duration.ofHours(6), Clock.fixed(now, ZoneOffset.UTC), new MetricRegistry());
  }

  private static List<SeriesPoint> closeWait(MemoryStore s, String host) {
    return s.series(
        SeriesQuery.of(
            host, "tcp", "close_wait", Instant.EPOCH, Instant.parse("2100-01-01T00:00:00Z")));
  }

  @Test
  void theCapHoldsByEvictingTheOldestReportsFleetWide() {
    long cap = 4L << 20;
    Instant end = t0.plusSeconds(10L * 400);
    MemoryStore s = sized(cap, end);
    long peak = 0;
    for (int i = 0; i < 400; i++) {
      for (int h = 0; h < 50; h++) {
        s.write(report("node-" + h, i + 1, t0.plusSeconds(10L * i)));
        peak = Math.max(peak, s.bytes());
      }
    }
    assertThat(peak).as("bytes held at any time").isLessThanOrEqualTo(cap);
    for (int h = 0; h < 50; h++) {
      List<SeriesPoint> kept = closeWait(s, "node-" + h);
      assertThat(kept).as("node-%d keeps its newest sample", h).isNotEmpty();
      assertThat(kept.getLast().value()).isEqualTo(400);
      assertThat(kept.getFirst().value()).as("oldest samples are gone").isGreaterThan(1);
    }
    System.out.printf(
        "memory store: 50 hosts x 400 reports under a 4 MiB cap keeps %d reports per host%n",
        closeWait(s, "node-0").size());
  }

  @Test
  void samplesOlderThanTheRetentionAreDropped() {
    Instant now = t0.plus(Duration.ofHours(7));
    MemoryStore s = sized(64L << 20, now);
    s.write(report("old", 1, t0));
    s.write(report("old", 2, now.minusSeconds(60)));
    assertThat(closeWait(s, "old")).extracting(SeriesPoint::value).containsExactly(2.);
  }

  @Test
  void aReportCostsUnderOneKibibyte() {
    MemoryStore s = sized(1L << 30, t0.plusSeconds(10L * 2000));
    int hosts = 20;
    int perHost = 2000;
    long before = s.bytes();
    for (int i = 0; i < perHost; i++) {
      for (int h = 0; h < hosts; h++) s.write(report("h" + h, i + 1, t0.plusSeconds(10L * i)));
    }
    double perReport = (double) (s.bytes() - before) / (hosts * perHost);
    System.out.printf(
        "memory store: %.0f bytes per report (%d points each)%n",
        perReport, io.handlewatch.collector.store.ReportPoints.of(report("h", 1, t0)).size());
    // A report is 13 points and ~50 numeric values: 8 bytes each plus array slack is well under.
    assertThat(perReport).isLessThan(1024);
  }

  @Test
  void replayingReportsDoesNotGrowTheStore() {
    MemoryStore s = sized(64L << 20, t0.plusSeconds(1000));
    for (int i = 0; i < 50; i++) s.write(report("r", i + 1, t0.plusSeconds(10L * i)));
    long once = s.bytes();
    for (int i = 0; i < 50; i++) s.write(report("r", i + 1, t0.plusSeconds(10L * i)));
    assertThat(s.bytes()).isEqualTo(once);
    assertThat(closeWait(s, "r")).hasSize(50);
  }

  @Test
  void concurrentWritersForDifferentHostsAllLand() throws Exception {
    MemoryStore s = sized(256L << 20, t0.plusSeconds(10_000));
    var pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 8; w++) {
        int writer = w;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 300; i++) {
                    s.write(report("w" + writer, i + 1, t0.plusSeconds(10L * i)));
                  }
                }));
      }
      for (Future<?> f : done) f.get();
    } finally {
      pool.shutdown();
    }
    for (int w = 0; w < 8; w++) assertThat(closeWait(s, "w" + w)).hasSize(300);
    assertThat(s.latestPerHost()).hasSize(8);
  }

  @Test
  void outOfOrderSamplesAreInsertedInTimeOrder() {
    MemoryStore s = sized(64L << 20, t0.plusSeconds(1000));
    s.write(report("o", 3, t0.plusSeconds(30)));
    s.write(report("o", 1, t0.plusSeconds(10)));
    s.write(report("o", 2, t0.plusSeconds(20)));
    assertThat(closeWait(s, "o")).extracting(SeriesPoint::value).containsExactly(1., 2., 3.);
  }
}

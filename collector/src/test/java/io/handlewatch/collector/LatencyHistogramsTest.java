package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyHistogramsTest {
  private final MetricRegistry registry = new MetricRegistry();
  private final LatencyHistograms histograms = new LatencyHistograms(registry);

  /** One reading: timer name, then bucket (µs) to count. */
  private Map<String, Map<Long, Long>> read(Set<String> timers) {
    StringWriter out = new StringWriter();
    histograms.write(timers, new PrintWriter(out, true));
    Map<String, Map<Long, Long>> byTimer = new TreeMap<>();
    for (String line : out.toString().split("\n")) {
      if (line.startsWith("#") || line.isBlank()) continue;
      String[] f = line.split(" ");
      byTimer
          .computeIfAbsent(f[0], k -> new TreeMap<>())
          .put(Long.parseLong(f[1]), Long.parseLong(f[2]));
    }
    return byTimer;
  }

  private static long count(Map<Long, Long> buckets, long fromUs, long toUs) {
    return buckets.entrySet().stream()
        .filter(e -> e.getKey() >= fromUs && e.getKey() <= toUs)
        .mapToLong(Map.Entry::getValue)
        .sum();
  }

  @Test
  void twoReadingsDifferByExactlyTheValuesRecordedBetweenThem() {
    Timer t = RecordedTimer.of(registry, "ingest.latency.collector_added");
    // Before the window: a start-up burst of slow values.
    for (int i = 0; i < 50; i++) t.update(5, TimeUnit.SECONDS);
    for (int i = 0; i < 1000; i++) t.update(200, TimeUnit.MICROSECONDS);
    Map<Long, Long> start = read(Set.of()).get("ingest.latency.collector_added");

    for (int i = 0; i < 990; i++) t.update(Duration.ofMillis(1));
    try (Timer.Context c = t.time()) {
      // a value through a context counts too
    }
    for (int i = 0; i < 10; i++) t.update(80, TimeUnit.MILLISECONDS);
    Map<Long, Long> end = read(Set.of()).get("ingest.latency.collector_added");

    Map<Long, Long> window = new TreeMap<>(end);
    start.forEach((bucket, n) -> window.merge(bucket, -n, Long::sum));
    assertThat(count(window, 4_900_000, 5_100_000)).as("the burst before the window").isZero();
    assertThat(count(window, 190, 210)).as("the fast values before the window").isZero();
    assertThat(count(window, 990, 1010)).isEqualTo(990);
    assertThat(count(window, 79_000, 81_000)).isEqualTo(10);
    assertThat(count(window, 0, Long.MAX_VALUE)).isEqualTo(1001);
    // The timer itself is unchanged: every value counted, its percentiles as before.
    assertThat(t.getCount()).isEqualTo(2051);
  }

  @Test
  void listsOnlyRecordedTimersAndTheOnesAskedFor() {
    RecordedTimer.of(registry, "ingest.store.latency").update(3, TimeUnit.MILLISECONDS);
    RecordedTimer.of(registry, "detect.latency").update(7, TimeUnit.MILLISECONDS);
    registry.timer("detect.cost").update(1, TimeUnit.MILLISECONDS);

    assertThat(read(Set.of()).keySet()).containsExactly("detect.latency", "ingest.store.latency");
    assertThat(read(Set.of("ingest.store.latency")).keySet())
        .containsExactly("ingest.store.latency");
  }
}

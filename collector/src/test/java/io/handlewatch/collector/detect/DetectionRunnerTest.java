package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

class DetectionRunnerTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");

  @Test
  void aFullQueueCoalescesAHostsOlderReportsIntoItsNewestWithoutBlocking() throws Exception {
    DetectionFactory config = new DetectionFactory();
    config.queueCapacity = 2;
    config.shards = 1;
    config.maxLag = io.dropwizard.util.Duration.milliseconds(0);
    MetricRegistry metrics = new MetricRegistry();
    MemoryStore store = new MemoryStore(64 << 20, Duration.ofHours(6), Clock.systemUTC(), metrics);
    DetectionRunner d = new DetectionRunner(config, store, metrics, Clock.systemUTC());
    // Not started: nothing drains the shard, so the third report finds it full and replaces the
    // two before it; the fourth fits again.
    for (int i = 1; i <= 4; i++) d.stored(TestReports.report("h", i, T0.plusSeconds(10L * i)));

    assertThat(metrics.counter("detect.queue.coalesced").getCount()).isEqualTo(2);
    assertThat(metrics.getGauges().get("detect.queue.depth").getValue()).isEqualTo(2);
    assertThat(d.lag()).isPositive();
    var behind = d.healthCheck().execute();
    assertThat(behind.isHealthy()).isFalse();
    assertThat(behind.getMessage())
        .startsWith("detection lags ingest: 1 shards, 2 reports waiting, lag ")
        .endsWith("0 reports judged, 2 coalesced into a newer report of their host");

    d.start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (metrics.meter("detect.evaluations").getCount() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(metrics.meter("detect.evaluations").getCount()).isEqualTo(2);
      assertThat(metrics.timer("detect.cost").getCount()).isEqualTo(2);
      // The newest report is the one judged last.
      assertThat(d.view().host("h").orElseThrow().evaluatedAt()).isEqualTo(T0.plusSeconds(40));
      assertThat(d.lag()).isZero();
      assertThat(d.healthCheck().execute().isHealthy()).isTrue();
    } finally {
      d.stop();
    }
  }

  /**
   * Hosts spread over four shards, fed from four ingest threads at once, are each judged in order
   * and completely: every report is evaluated, none coalesced, and the alerts are exactly those of
   * one engine replaying the same reports host by host (a report judged out of order, or two shards
   * sharing a host, would change them).
   */
  @Test
  void shardsJudgeEveryReportOfEveryHostInOrder() throws Exception {
    int hosts = 40;
    int steps = 150; // 25 minutes at 10 s: the leaking hosts page
    Map<String, List<HostReport>> byHost = new HashMap<>();
    for (int h = 0; h < hosts; h++) {
      String name = String.format(Locale.ROOT, "shard-host-%02d", h);
      var g = new TraceGenerator(name, T0, h);
      boolean leaks = h % 5 == 0;
      for (int p = 0; p < 3; p++) {
        Curve cw =
            leaks && p == 0 ? (m, r) -> 80 * Math.max(0, m - 5) : TraceGenerator.jitter(3, 2);
        Curve fds = TraceGenerator.jitter(500 + 300 * p, 20);
        Curve withCw = (m, r) -> fds.at(m, r) + cw.at(m, r);
        g.add(
            new Process(
                1000 + p, 100 + p, "svc" + p, 65_536, withCw, cw, "10.0.0." + p + ":80", 0, 1e9));
      }
      List<HostReport> reports = new ArrayList<>();
      for (long i = 0; i < steps; i++) reports.add(g.report(i));
      byHost.put(name, reports);
    }
    List<String> expected = new ArrayList<>();
    DetectionEngine replay =
        new DetectionEngine(
            new DetectionFactory().build(), a -> expected.add(describe(a)), p -> {}, h -> Map.of());
    for (List<HostReport> reports : byHost.values()) reports.forEach(replay::evaluate);

    DetectionFactory config = new DetectionFactory();
    config.shards = 4;
    config.warmUp.enabled = false;
    MetricRegistry metrics = new MetricRegistry();
    MemoryStore store = new MemoryStore(64 << 20, Duration.ofHours(6), Clock.systemUTC(), metrics);
    DetectionRunner d = new DetectionRunner(config, store, metrics, Clock.systemUTC());
    ConcurrentLinkedQueue<String> alerts = new ConcurrentLinkedQueue<>();
    d.addAlertListener(a -> alerts.add(describe(a)));
    d.start();
    try {
      List<Thread> ingest = new ArrayList<>();
      List<String> names = new ArrayList<>(byHost.keySet());
      for (int t = 0; t < 4; t++) {
        List<String> mine = names.subList(t * hosts / 4, (t + 1) * hosts / 4);
        ingest.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      for (int i = 0; i < steps; i++) {
                        for (String h : mine) d.stored(byHost.get(h).get(i));
                      }
                    }));
      }
      for (Thread t : ingest) t.join();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      long total = (long) hosts * steps;
      while (metrics.meter("detect.evaluations").getCount() < total
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(metrics.meter("detect.evaluations").getCount()).isEqualTo(total);
      assertThat(metrics.counter("detect.queue.coalesced").getCount()).isZero();
      assertThat(metrics.getGauges().get("detect.shards").getValue()).isEqualTo(4);
      assertThat(expected).hasSize(hosts / 5);
      assertThat(alerts).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(d.view().activeAlerts()).hasSize(hosts / 5);
      for (var e : byHost.entrySet()) {
        Instant newest =
            Instant.ofEpochSecond(
                e.getValue().getLast().getSample().getTime().getSeconds(),
                e.getValue().getLast().getSample().getTime().getNanos());
        assertThat(d.view().host(e.getKey()).orElseThrow().evaluatedAt()).isEqualTo(newest);
      }
    } finally {
      d.stop();
    }
  }

  private static String describe(Alert a) {
    return a.status() + " " + a.dedupKey() + " " + a.labels() + " " + a.startsAt();
  }
}

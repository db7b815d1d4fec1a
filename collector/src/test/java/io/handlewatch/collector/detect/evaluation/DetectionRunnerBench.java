package io.handlewatch.collector.detect.evaluation;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Snapshot;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.detect.DetectionRunner;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.collector.store.ListeningStore;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.proto.v1.HostReport;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The detection stage alone at a given rate: {@code hosts} simulated hosts (eight processes each, 1
 * % leaking CLOSE_WAIT, as {@link DetectionBench}) report every 10 s, paced in real time to {@code
 * hosts / 10} reports/s, through the memory store into the real {@link DetectionRunner} (sharded as
 * configured by default, warm-up on), as ingest hands them over, without gRPC, the simulator or
 * InfluxDB on the same cores. Optionally {@code prefillMinutes} of history per host are stored
 * first, so the start is a collector restart whose warm-up reads rebuild real windows. Prints
 * reports fed and judged, skipped and coalesced, the cost per report, detection lag and the
 * process's CPU. Run by bench/detect-bench.sh --runner; not a test (no timing in tests).
 *
 * <p>Arguments: hosts (50000), seconds (120), prefill minutes (0), feeder threads (2), and {@code
 * direct} to hand reports to the runner without storing them (the detection stage alone: the
 * warm-up then reads only the prefill).
 */
public final class DetectionRunnerBench {
  public static void main(String[] args) throws Exception {
    int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 120;
    int prefill = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    int feeders = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    boolean direct = args.length > 4 && args[4].equals("direct");
    long stepMs = 10_000;
    Instant start = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    Instant t0 = start.minusMillis(stepMs * prefill * 6L);
    List<TraceGenerator> fleet = new ArrayList<>(hosts);
    for (int h = 0; h < hosts; h++) {
      var g = new TraceGenerator(String.format(Locale.ROOT, "host-%05d", h), t0, h);
      boolean leaks = h % 100 == 0;
      for (int p = 0; p < 8; p++) {
        Curve cw =
            leaks && p == 0 ? (m, r) -> 60 * Math.max(0, m - 20) : TraceGenerator.jitter(3, 2);
        Curve fds = TraceGenerator.jitter(500 + 300 * p, 20);
        Curve withCw = (m, r) -> fds.at(m, r) + cw.at(m, r);
        g.add(
            new Process(
                1000 + p, 100 + p, "svc" + p, 65_536, withCw, cw, "10.0.0." + p + ":80", 0, 1e9));
      }
      fleet.add(g);
    }
    MetricRegistry metrics = new MetricRegistry();
    MemoryStore memory = new MemoryStore(2L << 30, Duration.ofHours(1), Clock.systemUTC(), metrics);
    long prefillSteps = prefill * 6L;
    for (long i = 0; i < prefillSteps; i++) {
      for (TraceGenerator g : fleet) memory.write(g.report(i)).get(10, TimeUnit.SECONDS);
    }
    DetectionFactory config = new DetectionFactory();
    DetectionRunner runner = new DetectionRunner(config, memory, metrics, Clock.systemUTC());
    ListeningStore store = new ListeningStore(memory, runner);
    runner.start();

    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os.getProcessCpuTime();
    long begin = System.nanoTime();
    long[] lagMax = new long[1];
    // Each feeder has its own hosts (a host's reports in order), paced to its share of the rate.
    double perNano = hosts / (double) TimeUnit.MILLISECONDS.toNanos(stepMs) / feeders;
    long perFeeder = (long) (perNano * TimeUnit.SECONDS.toNanos(seconds));
    int mine = hosts / feeders;
    java.util.concurrent.atomic.AtomicLong fedAll = new java.util.concurrent.atomic.AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int k = 0; k < feeders; k++) {
      int first = k * mine;
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      for (long n = 0; n < perFeeder; ) {
                        long due =
                            Math.min(perFeeder, (long) ((System.nanoTime() - begin) * perNano));
                        for (; n < due; n++) {
                          long step = prefillSteps + n / mine;
                          HostReport r = fleet.get(first + (int) (n % mine)).report(step);
                          if (direct) runner.stored(r);
                          else store.write(r).get(10, TimeUnit.SECONDS);
                          fedAll.incrementAndGet();
                        }
                        Thread.sleep(1); // pacing the feed to the rate
                      }
                    } catch (Exception e) {
                      throw new IllegalStateException(e);
                    }
                  }));
    }
    for (boolean alive = true; alive; ) {
      alive = false;
      for (Thread t : threads) alive |= t.isAlive();
      lagMax[0] =
          Math.max(
              lagMax[0], ((Number) metrics.getGauges().get("detect.lag").getValue()).longValue());
      Thread.sleep(10); // sampling the lag while the feeders run
    }
    long fed = fedAll.get();
    long lagMaxMs = lagMax[0];
    long feedNanos = System.nanoTime() - begin;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (metrics.meter("detect.evaluations").getCount()
                + metrics.counter("detect.queue.coalesced").getCount()
            < fed
        && System.nanoTime() < deadline) {
      lagMaxMs =
          Math.max(
              lagMaxMs, ((Number) metrics.getGauges().get("detect.lag").getValue()).longValue());
      Thread.sleep(10); // draining what is left, bounded
    }
    long drainNanos = System.nanoTime() - begin - feedNanos;
    long cpu = os.getProcessCpuTime() - cpu0;
    Snapshot cost = metrics.timer("detect.cost").getSnapshot();
    Snapshot lag = metrics.timer("detect.latency").getSnapshot();
    Snapshot resumed = metrics.timer("detect.warmup.resumed").getSnapshot();
    System.out.printf(
        Locale.ROOT,
        "hosts=%d shards=%s feeders=%d direct=%s prefill_min=%d fed=%d rate_per_s=%.0f judged=%d coalesced=%d"
            + " skipped=%d drain_s=%.1f cost_mean_us=%.1f cost_p99_us=%.1f lag_p50_ms=%.1f"
            + " lag_p99_ms=%.1f lag_max_gauge_ms=%d warm_hosts=%d warm_cold=%d"
            + " first_judged_p50_ms=%.0f first_judged_p99_ms=%.0f process_cores=%.2f cpus=%d%n",
        hosts,
        metrics.getGauges().get("detect.shards").getValue(),
        feeders,
        direct,
        prefill,
        fed,
        fed / (feedNanos / 1e9),
        metrics.meter("detect.evaluations").getCount(),
        metrics.counter("detect.queue.coalesced").getCount(),
        fed
            - metrics.meter("detect.evaluations").getCount()
            - metrics.counter("detect.queue.coalesced").getCount(),
        drainNanos / 1e9,
        cost.getMean() / 1e3,
        cost.get99thPercentile() / 1e3,
        lag.getMedian() / 1e6,
        lag.get99thPercentile() / 1e6,
        lagMaxMs,
        metrics.counter("detect.warmup.hosts").getCount(),
        metrics.counter("detect.warmup.cold").getCount(),
        resumed.getMedian() / 1e6,
        resumed.get99thPercentile() / 1e6,
        cpu / (double) (feedNanos + drainNanos),
        Runtime.getRuntime().availableProcessors());
    runner.stop();
    System.exit(0);
  }
}

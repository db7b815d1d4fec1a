package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.collector.detect.evaluation.TraceGenerator.Process;
import io.handlewatch.proto.v1.HostReport;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What detection costs per report and per host: {@code hosts} simulated hosts (ten processes each,
 * 1 % of them leaking CLOSE_WAIT) report every 10 s; after a window's worth of warm-up, the
 * detector's CPU time per report and the heap its windows hold are measured (the engine's own
 * share, per host, as the heap with it less the heap without it). Run by bench/detect-bench.sh; not
 * a test (no timing in tests).
 *
 * <p>Arguments: hosts (2000), measured minutes (10).
 */
public final class DetectionBench {
  public static void main(String[] args) {
    int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int minutes = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Instant t0 = Instant.parse("2026-11-20T08:00:00Z");
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
    long[] alerts = new long[1];
    DetectionEngine engine =
        new DetectionEngine(
            new DetectionFactory().build(), a -> alerts[0]++, p -> {}, h -> Map.of());
    var threads = ManagementFactory.getThreadMXBean();

    long warmSteps = 30 * 6;
    long steps = warmSteps + minutes * 6L;
    long cpu = 0;
    long reports = 0;
    long heapAfterWarmUp = 0;
    for (long i = 0; i < steps; i++) {
      List<HostReport> batch = new ArrayList<>(hosts);
      for (TraceGenerator g : fleet) batch.add(g.report(i));
      long before = threads.getCurrentThreadCpuTime();
      for (HostReport r : batch) engine.evaluate(r);
      long spent = threads.getCurrentThreadCpuTime() - before;
      if (i >= warmSteps) {
        cpu += spent;
        reports += batch.size();
      }
      batch.clear(); // the reports are not the detector's: measure what it keeps
      if (i == warmSteps - 1) heapAfterWarmUp = heapAfterGc();
    }
    long fleetBytes = heapAfterGc();
    int hostsSeen = engine.hosts();
    engine = null; // what the engine alone holds: the heap with it less the heap without
    long withoutEngine = heapAfterGc();
    System.out.printf(
        Locale.ROOT,
        "hosts=%d reports_measured=%d cpu_per_report_us=%.1f reports_per_core_second=%.0f"
            + " heap_after_warmup_mib=%.1f heap_end_mib=%.1f engine_kib_per_host=%.2f alerts=%d%n",
        hosts,
        reports,
        cpu / 1000.0 / reports,
        reports / (cpu / 1e9),
        heapAfterWarmUp / 1048576.0,
        fleetBytes / 1048576.0,
        (fleetBytes - withoutEngine) / 1024.0 / hostsSeen,
        alerts[0]);
    // Keep the fleet reachable until after the measurement.
    if (fleet.isEmpty()) System.out.println();
  }

  private static long heapAfterGc() {
    for (int i = 0; i < 3; i++) System.gc();
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }
}

package io.handlewatch.agent.metrics;

import io.handlewatch.agent.runtime.StartupPages;
import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.SourceRun;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The agent's own health for Prometheus, at {@code --metrics-address} (off by default): what each
 * source cost in the last sample and in total, the spool's depth and bytes, dropped reports, the
 * last acknowledgement, streams opened (reconnects), and the agent's RSS. Everything is read at
 * scrape time from the objects that already keep it; only per-source CPU is summed here, once per
 * sample.
 */
public final class AgentMetrics implements AutoCloseable {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private volatile AgentHealth last = AgentHealth.getDefaultInstance();
  private final Map<String, double[]> cpuSecondsBySource = new ConcurrentHashMap<>();
  private final AtomicLong samples = new AtomicLong();
  private HTTPServer server;

  public AgentMetrics(
      DiskSpool spool, CollectorLink link, LongSupplier samplesFailed, LongSupplier ticksSkipped) {
    GaugeWithCallback.builder()
        .name("handlewatch_agent_source_duration_seconds")
        .help("Wall time of each source in the last sample")
        .labelNames("source")
        .callback(
            cb -> {
              for (SourceRun r : last.getSourcesList()) {
                cb.call(r.getWallMicros() / 1e6, r.getSource());
              }
            })
        .register(registry);
    CounterWithCallback.builder()
        .name("handlewatch_agent_source_cpu_seconds_total")
        .help("CPU time each source has cost the sampling thread since start")
        .labelNames("source")
        .callback(cb -> cpuSecondsBySource.forEach((source, s) -> cb.call(s[0], source)))
        .register(registry);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_sample_duration_seconds")
        .help("Wall time of the last whole sample")
        .callback(cb -> cb.call(last.getWallMicros() / 1e6))
        .register(registry);
    counter("handlewatch_agent_samples", "Samples taken since start", samples::get);
    counter("handlewatch_agent_samples_failed", "Samples that failed since start", samplesFailed);
    counter(
        "handlewatch_agent_ticks_skipped",
        "Sampling ticks skipped because the previous sample ran late",
        ticksSkipped);
    gauge("handlewatch_agent_spool_reports", "Reports waiting for acknowledgement", spool::size);
    gauge(
        "handlewatch_agent_spool_bytes",
        "Bytes the spool holds on disk and in memory (a segment is freed once all its reports"
            + " are acknowledged)",
        spool::bytes);
    counter(
        "handlewatch_agent_dropped_reports",
        "Reports taken and never to be delivered (spool full, damaged, oversized)",
        spool::dropped);
    counter(
        "handlewatch_agent_streams_opened",
        "Streams opened to the collector since start (1 plus reconnects)",
        link::streamsOpened);
    counter(
        "handlewatch_agent_rejected_reports",
        "Reports the collector refused since start",
        link::rejected);
    gauge(
        "handlewatch_agent_connected",
        "1 while a stream to the collector is up",
        () -> link.isConnected() ? 1 : 0);
    gauge(
        "handlewatch_agent_last_acked_seq",
        "Highest report sequence number the collector acknowledged",
        link::ackedUpTo);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_last_ack_timestamp_seconds")
        .help("When the collector last acknowledged a report (Unix time; absent if never)")
        .callback(
            cb -> {
              long at = link.lastAckAtMillis();
              if (at > 0) cb.call(at / 1e3);
            })
        .register(registry);
    gauge(
        "handlewatch_agent_startup_pages_released_bytes",
        "Resident bytes of read-only file mappings (libjvm.so, the JDK's libraries) given back to"
            + " the kernel once after start-up; pages touched again fault back in from the file",
        StartupPages::releasedBytes);
    counter(
        "handlewatch_agent_startup_page_out_failures",
        "Mappings whose page-out after start-up the kernel refused, and page-outs that failed",
        StartupPages::failures);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_resident_memory_bytes")
        .help("Resident set size of the agent after the last sample")
        .callback(
            cb -> {
              if (last.hasRssBytes()) cb.call(last.getRssBytes());
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_netns_tcp_tables")
        .help(
            "Network namespaces besides the agent's by TCP hash table: shared (the host's, which"
                + " each of their dumps walks whole), own, unknown")
        .labelNames("table")
        .callback(
            cb -> {
              if (last.hasNetnsTcpTables()) {
                var t = last.getNetnsTcpTables();
                cb.call(t.getShared(), "shared");
                cb.call(t.getOwn(), "own");
                cb.call(t.getUnknown(), "unknown");
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_host_tcp_hash_buckets")
        .help("Buckets of the host's TCP hash table, walked by every shared namespace's dump")
        .callback(
            cb -> {
              if (last.getNetnsTcpTables().hasHostBuckets()) {
                cb.call(last.getNetnsTcpTables().getHostBuckets());
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("handlewatch_agent_tcp_child_ehash_entries")
        .help(
            "net.ipv4.tcp_child_ehash_entries in the agent's namespace: the TCP hash table size"
                + " namespaces made from now on get (0: they share the host's)")
        .callback(
            cb -> {
              if (last.getNetnsTcpTables().hasChildEhashEntries()) {
                cb.call(last.getNetnsTcpTables().getChildEhashEntries());
              }
            })
        .register(registry);
  }

  private void counter(String name, String help, LongSupplier value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry);
  }

  private void gauge(String name, String help, LongSupplier value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry);
  }

  /** Takes the health of a sample just made. */
  public void sampled(AgentHealth health) {
    last = health;
    samples.incrementAndGet();
    for (SourceRun r : health.getSourcesList()) {
      double[] sum = cpuSecondsBySource.computeIfAbsent(r.getSource(), s -> new double[1]);
      synchronized (sum) {
        sum[0] += r.getCpuMicros() / 1e6;
      }
    }
  }

  /** Serves {@code /metrics} on {@code address}; returns the port bound (for port 0). */
  public int serve(InetSocketAddress address) throws IOException {
    server =
        HTTPServer.builder()
            .hostname(address.getHostString())
            .port(address.getPort())
            .registry(registry)
            // One daemon thread: a scrape is small, and the agent must not wait on it to exit.
            .executorService(
                java.util.concurrent.Executors.newSingleThreadExecutor(
                    r -> Thread.ofPlatform().name("handlewatch-metrics").daemon(true).unstarted(r)))
            .buildAndStart();
    return server.getPort();
  }

  @Override
  public void close() {
    if (server != null) server.close();
  }
}

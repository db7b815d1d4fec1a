package io.handlewatch.collector;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricFilter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.dropwizard.core.setup.Environment;
import io.prometheus.metrics.exporter.servlet.jakarta.PrometheusMetricsServlet;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * {@code /prometheus} on the admin port: everything in the JSON {@code /metrics} (ingest, store,
 * detector, notifier, JVM, Jetty) in the Prometheus text format, or OpenMetrics when the scraper
 * asks for it, through the Prometheus client's own Dropwizard bridge.
 *
 * <p>Names follow Prometheus conventions: handlewatch's own metrics get the {@code handlewatch_}
 * prefix ({@code ingest.reports} is {@code handlewatch_ingest_reports_total}), Dropwizard's and
 * Jetty's CamelCase class names become snake_case, meters and counters end in {@code _total}, and
 * timers are summaries in seconds named {@code _seconds}; a gauge's {@code .count} suffix goes.
 */
final class PrometheusEndpoint {
  static final String PATH = "/prometheus";

  private PrometheusEndpoint() {}

  static void register(Environment env) {
    PrometheusRegistry registry = new PrometheusRegistry();
    DropwizardExports.builder()
        .dropwizardRegistry(new ConventionalNames(env.metrics()))
        .register(registry);
    env.admin().addServlet("prometheus", new PrometheusMetricsServlet(registry)).addMapping(PATH);
  }

  /** A read-only view of a registry under Prometheus-style names, recomputed on every scrape. */
  static final class ConventionalNames extends MetricRegistry {
    private static final Pattern CAMEL = Pattern.compile("([a-z0-9])([A-Z])");
    private static final Pattern OWN = Pattern.compile("^(ingest|store|detect|notify|api)\\..*");

    private final MetricRegistry source;

    ConventionalNames(MetricRegistry source) {
      this.source = source;
    }

    static String name(String dropwizard, String unitSuffix) {
      String n = CAMEL.matcher(dropwizard).replaceAll("$1_$2").toLowerCase(java.util.Locale.ROOT);
      if (OWN.matcher(dropwizard).matches()) n = "handlewatch." + n;
      return n + unitSuffix;
    }

    private static <T> SortedMap<String, T> renamed(Map<String, T> metrics, String unitSuffix) {
      SortedMap<String, T> out = new TreeMap<>();
      metrics.forEach((k, v) -> out.putIfAbsent(name(k, unitSuffix), v));
      return out;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public SortedMap<String, Gauge> getGauges(MetricFilter filter) {
      // A gauge is not a summary: "jvm.threads.count" reads as jvm_threads, not jvm_threads_count.
      SortedMap<String, Gauge> out = new TreeMap<>();
      source
          .getGauges(filter)
          .forEach((k, v) -> out.putIfAbsent(name(k.replaceAll("\\.count$", ""), ""), v));
      return out;
    }

    @Override
    public SortedMap<String, Counter> getCounters(MetricFilter filter) {
      return renamed(source.getCounters(filter), "");
    }

    @Override
    public SortedMap<String, Histogram> getHistograms(MetricFilter filter) {
      return renamed(source.getHistograms(filter), "");
    }

    @Override
    public SortedMap<String, Meter> getMeters(MetricFilter filter) {
      return renamed(source.getMeters(filter), "");
    }

    @Override
    public SortedMap<String, Timer> getTimers(MetricFilter filter) {
      return renamed(source.getTimers(filter), ".seconds");
    }
  }
}

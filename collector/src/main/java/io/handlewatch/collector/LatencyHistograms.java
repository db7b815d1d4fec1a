package io.handlewatch.collector;

import com.codahale.metrics.MetricRegistry;
import io.dropwizard.core.setup.Environment;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * {@code /latency-histograms} on the admin port: every value each {@link RecordedTimer} was given
 * since the start, as buckets. One line per non-empty bucket: the timer's name, the bucket's
 * highest value in microseconds (buckets within 1 %) and how many values fell in it. {@code
 * ?timer=NAME} (repeatable) limits the answer to those timers.
 *
 * <p>The counts only grow, so subtracting one reading from a later one, bucket by bucket, gives
 * exactly the values recorded between the two: percentiles over a chosen window (a benchmark's
 * steady state, the minutes around an incident), which the timers' decaying samples cannot give.
 * Read-only, like /metrics beside it.
 */
final class LatencyHistograms extends HttpServlet {
  static final String PATH = "/latency-histograms";

  private final transient MetricRegistry registry;

  LatencyHistograms(MetricRegistry registry) {
    this.registry = registry;
  }

  static void register(Environment env) {
    env.admin()
        .addServlet("latency-histograms", new LatencyHistograms(env.metrics()))
        .addMapping(PATH);
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String[] asked = req.getParameterValues("timer");
    resp.setContentType("text/plain; charset=utf-8");
    resp.setHeader("Cache-Control", "no-store");
    // A timer named twice is asked once (Set.of would refuse the duplicate).
    write(asked == null ? Set.of() : new HashSet<>(Arrays.asList(asked)), resp.getWriter());
  }

  /** Writes the buckets of the timers in {@code wanted} (every recorded timer when empty). */
  void write(Set<String> wanted, PrintWriter output) {
    output.println("# timer bucket_us count (every value since the start; buckets within 1 %)");
    registry
        .getTimers()
        .forEach(
            (name, timer) -> {
              if (!(timer instanceof RecordedTimer recorded)) return;
              if (!wanted.isEmpty() && !wanted.contains(name)) return;
              Histogram h = recorded.sinceStart();
              for (HistogramIterationValue v : h.recordedValues()) {
                output.println(
                    name + " " + v.getValueIteratedTo() + " " + v.getCountAtValueIteratedTo());
              }
            });
    output.flush();
  }
}

package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.testing.DebianPackage;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * node-mixin's real alert rules on a trace, evaluated by Prometheus's own rule engine: Debian's
 * {@code promtool test rules} (package {@code prometheus}, 2.42). The comparison the evaluation
 * draws with node-mixin is then with the peer itself, not with our reading of it.
 *
 * <p>Call {@link #firstPage(Trace)} (node-mixin's own 6h {@code predict_linear} range) or {@link
 * #firstPage(Trace, Duration)} (another range, e.g. the detector's window, as {@link
 * NodeMixinBaseline} takes one). Either returns the first alert the rules fire over the trace, or
 * null when they never do; of alerts first firing at the same evaluation, a critical one. One
 * promtool process per call: a 3-hour trace takes 1-3 s on two busy cores, a 24-hour one 20-40 s.
 *
 * <p>The rules are {@code node-mixin/fd-alerts.yml} in the test resources (its header names the
 * upstream file and version): NodeFileDescriptorLimit (&gt; 70 % for 15m warning, &gt; 90 % for 15m
 * critical) and NodeFilesystemFilesFillingUp (&lt; 40 % free and predicted empty within 24h, for
 * 1h, warning; &lt; 20 % and 4h, critical). The trace is fed to them as a scrape of node_exporter
 * would be, every 10 s:
 *
 * <ul>
 *   <li>file-nr as {@code node_filefd_allocated} / {@code node_filefd_maximum} with {@code
 *       instance} = the host, exactly what node-mixin alerts on;
 *   <li>each process's fds and soft limit under the same two names with a {@code
 *       process="comm[pid]"} (and {@code start_ticks}) label. node-mixin has no per-process rule
 *       (nor any CLOSE_WAIT rule: a CLOSE_WAIT leak reaches it only through the fds it holds);
 *       applying its host rule to each process is the fairest node-mixin-style alert on a process
 *       leak, and it is what {@link NodeMixinBaseline} modelled;
 *   <li>the same counts as inodes ({@code node_filesystem_files_free} = limit − fds, {@code
 *       node_filesystem_files} = limit, {@code node_filesystem_readonly} = 0, with {@code
 *       fstype="fd"}) so that node-mixin's predict_linear rule runs unchanged on them.
 * </ul>
 *
 * <p>Conntrack, where the trace has it: {@code node_nf_conntrack_entries} and {@code
 * node_nf_conntrack_entries_limit} of the host, for node-mixin's NodeHighNumberConntrackEntriesUsed
 * (above 75 %, no {@code for}, warning), also in the rules file.
 *
 * <p>A process that leaves the sample gets a staleness marker, as a scrape that no longer exposes
 * the series would write; samples the trace lacks are {@code _}. Evaluation is every 10 s from the
 * first report to the last; Page.at is the time of the report the firing evaluation read.
 */
final class PromtoolNodeMixin {
  /**
   * The first alert: when, which series ({@code comm[pid]}, or the host for file-nr), its severity
   * and, for NodeFilesystemFilesFillingUp, the ETA its predict_linear implied
   * (NodeFileDescriptorLimit implies none: null).
   */
  record Page(Instant at, String alert, String subject, String severity, Duration impliedEta) {}

  static final String RULES = "/node-mixin/fd-alerts.yml";
  static final Duration UPSTREAM_WINDOW = Duration.ofHours(6);
  private static final Duration INTERVAL = Duration.ofSeconds(10);
  private static final List<String> ALERTS =
      List.of("NodeFileDescriptorLimit", "NodeFilesystemFilesFillingUp");
  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  /** Tested only on traces that carry conntrack, so the fd traces cost what they did. */
  static final String CONNTRACK_ALERT = "NodeHighNumberConntrackEntriesUsed";

  private PromtoolNodeMixin() {}

  /** node-mixin's first page over the trace with its own 6h predict_linear range, or null. */
  static Page firstPage(Trace trace) {
    return firstPage(trace, UPSTREAM_WINDOW);
  }

  /** The same with predict_linear over {@code window} instead of node-mixin's 6h. */
  static Page firstPage(Trace trace, Duration window) {
    if (window.toSeconds() < 1 || window.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException("window must be whole seconds, got " + window);
    }
    try {
      Path dir = Files.createTempDirectory("promtool-node-mixin-");
      try {
        return run(trace, window, dir);
      } finally {
        try (var files = Files.list(dir)) {
          for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running promtool on " + trace.name(), e);
    }
  }

  private static Page run(Trace trace, Duration window, Path dir)
      throws IOException, InterruptedException {
    Samples samples = Samples.of(trace);
    Files.writeString(dir.resolve("rules.yml"), rules(window));
    Files.writeString(dir.resolve("test.yml"), testFile(samples));
    String promtool = DebianPackage.findOrInstall("prometheus", "/usr/bin/promtool");
    Path out = dir.resolve("promtool.out");
    Process p =
        new ProcessBuilder(promtool, "test", "rules", "test.yml")
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    p.getOutputStream().close();
    if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new IllegalStateException(
          "promtool did not finish on " + trace.name() + " within " + TIMEOUT);
    }
    String output = Files.readString(out);
    if (p.exitValue() == 0) {
      // Every test expected no alert and passed: the rules never fired.
      if (!output.contains("SUCCESS")) {
        throw new IllegalStateException("promtool exited 0 without SUCCESS: " + output);
      }
      return null;
    }
    List<Fired> fired = parse(output);
    if (fired.isEmpty()) {
      // A failure that lists no alert is promtool refusing the input, not a page.
      throw new IllegalStateException(
          "promtool failed on "
              + trace.name()
              + " (exit "
              + p.exitValue()
              + "): "
              + output.substring(0, Math.min(2_000, output.length())));
    }
    Fired first =
        fired.stream()
            .min(
                Comparator.comparingLong(Fired::step)
                    .thenComparing(f -> !"critical".equals(f.labels.get("severity")))
                    .thenComparing(f -> f.labels.getOrDefault("process", "")))
            .orElseThrow();
    String eta = first.annotations.get("handlewatch_eta_seconds");
    Duration impliedEta = null;
    if (eta != null && !eta.isEmpty()) {
      double s = Double.parseDouble(eta);
      if (Double.isFinite(s)) impliedEta = Duration.ofMillis(Math.round(Math.max(0, s) * 1000));
    }
    String process = first.labels.get("process");
    return new Page(
        samples.timeOf(first.step),
        first.labels.get("alertname"),
        process == null || process.isEmpty() ? first.labels.get("instance") : process,
        first.labels.get("severity"),
        impliedEta);
  }

  private static String rules(Duration window) throws IOException {
    String text;
    try (InputStream in = PromtoolNodeMixin.class.getResourceAsStream(RULES)) {
      if (in == null) throw new IOException("test resource " + RULES + " missing");
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!text.contains("[6h]")) throw new IOException(RULES + " has no [6h] range to replace");
    return text.replace("[6h]", "[" + window.toSeconds() + "s]");
  }

  /** The trace on the 10 s grid: one column per report, one row per series. */
  private record Samples(Instant origin, Instant[] times, Map<String, String[]> series) {
    static Samples of(Trace trace) {
      List<HostReport> reports = trace.reports();
      if (reports.isEmpty()) throw new IllegalArgumentException(trace.name() + " has no reports");
      Instant origin = time(reports.getFirst().getSample());
      int steps = step(origin, time(reports.getLast().getSample())) + 1;
      Instant[] times = new Instant[steps];
      Map<String, String[]> series = new LinkedHashMap<>();
      String host = trace.host();
      for (HostReport r : reports) {
        HostSample s = r.getSample();
        int i = step(origin, time(s));
        if (i < 0 || i >= steps || times[i] != null) {
          throw new IllegalArgumentException(
              trace.name() + ": report seq " + r.getSeq() + " is not on its own 10 s step");
        }
        times[i] = time(s);
        if (s.hasFileHandles()
            && s.getFileHandles().hasAllocated()
            && s.getFileHandles().hasMax()) {
          put(
              series,
              steps,
              i,
              host,
              null,
              s.getFileHandles().getAllocated(),
              s.getFileHandles().getMax());
        }
        for (ProcessSample p : s.getProcessesList()) {
          if (!p.hasFds() || !p.hasSoftLimit() || p.getSoftLimit() == 0) continue;
          put(series, steps, i, host, p, p.getFds(), p.getSoftLimit());
        }
        if (s.hasConntrack() && s.getConntrack().hasCount() && s.getConntrack().hasMax()) {
          // What node_exporter's conntrack collector exposes from nf_conntrack_count and _max.
          String labels = "{job=\"node\",instance=" + quote(host) + "}";
          set(series, steps, i, "node_nf_conntrack_entries" + labels, s.getConntrack().getCount());
          set(
              series,
              steps,
              i,
              "node_nf_conntrack_entries_limit" + labels,
              s.getConntrack().getMax());
        }
      }
      // A scrape that stops exposing a series marks it stale; without the marker Prometheus would
      // go on reading its last value for 5 minutes.
      for (String[] values : series.values()) {
        for (int i = 1; i < steps; i++) {
          if (values[i] == null && values[i - 1] != null && !values[i - 1].equals("stale")) {
            values[i] = "stale";
          }
        }
      }
      return new Samples(origin, times, series);
    }

    private static void put(
        Map<String, String[]> series,
        int steps,
        int i,
        String host,
        ProcessSample p,
        long used,
        long limit) {
      String labels = "job=\"node\",instance=" + quote(host);
      String fsLabels;
      if (p == null) {
        fsLabels = labels + ",fstype=\"fd\",device=\"file-nr\",mountpoint=\"/proc/sys/fs/file-nr\"";
      } else {
        labels +=
            ",process="
                + quote(p.getComm() + "[" + p.getPid() + "]")
                + ",start_ticks=\""
                + p.getStartTicks()
                + "\"";
        fsLabels =
            labels + ",fstype=\"fd\",device=\"fd\",mountpoint=\"/proc/" + p.getPid() + "/fd\"";
      }
      set(series, steps, i, "node_filefd_allocated{" + labels + "}", used);
      set(series, steps, i, "node_filefd_maximum{" + labels + "}", limit);
      set(series, steps, i, "node_filesystem_files_free{" + fsLabels + "}", limit - used);
      set(series, steps, i, "node_filesystem_files{" + fsLabels + "}", limit);
      set(series, steps, i, "node_filesystem_readonly{" + fsLabels + "}", 0);
    }

    private static void set(Map<String, String[]> series, int steps, int i, String key, long v) {
      series.computeIfAbsent(key, k -> new String[steps])[i] = Long.toString(v);
    }

    private static Instant time(HostSample s) {
      return Instant.ofEpochSecond(s.getTime().getSeconds(), s.getTime().getNanos());
    }

    private static int step(Instant origin, Instant t) {
      return (int)
          Math.round(Duration.between(origin, t).toMillis() / (double) INTERVAL.toMillis());
    }

    Instant timeOf(long step) {
      if (step >= 0 && step < times.length && times[(int) step] != null) return times[(int) step];
      return origin.plus(INTERVAL.multipliedBy(step));
    }
  }

  /** A PromQL label value in double quotes. */
  private static String quote(String v) {
    return '"' + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
  }

  /** A YAML single-quoted scalar. */
  private static String yaml(String v) {
    return "'" + v.replace("'", "''") + "'";
  }

  /**
   * One unit-test group: the series, and at every step one alert test per alert name expecting
   * nothing, so that promtool prints every alert firing at that step.
   */
  private static String testFile(Samples samples) {
    StringBuilder b = new StringBuilder(1 << 16);
    b.append("rule_files: [rules.yml]\nevaluation_interval: ")
        .append(INTERVAL.toSeconds())
        .append("s\ntests:\n  - interval: ")
        .append(INTERVAL.toSeconds())
        .append("s\n    input_series:\n");
    for (var e : samples.series.entrySet()) {
      b.append("      - series: ").append(yaml(e.getKey())).append("\n        values: '");
      String[] values = e.getValue();
      for (int i = 0; i < values.length; i++) {
        if (i > 0) b.append(' ');
        b.append(values[i] == null ? "_" : values[i]);
      }
      b.append("'\n");
    }
    b.append("    alert_rule_test:\n");
    List<String> alerts = new ArrayList<>(ALERTS);
    if (samples.series.keySet().stream().anyMatch(k -> k.startsWith("node_nf_conntrack"))) {
      alerts.add(CONNTRACK_ALERT);
    }
    for (int i = 0; i < samples.times.length; i++) {
      for (String alert : alerts) {
        b.append("      - eval_time: ")
            .append(i * INTERVAL.toSeconds())
            .append("s\n        alertname: ")
            .append(alert)
            .append('\n');
      }
    }
    return b.toString();
  }

  /** An alert promtool reported firing at a step. */
  private record Fired(long step, Map<String, String> labels, Map<String, String> annotations) {}

  private static final Pattern FAILURE =
      Pattern.compile("alertname: (\\S+), time: (\\S+), \\n\\s+exp:\\[\\], \\n\\s+got:\\[");
  private static final Pattern ALERT =
      Pattern.compile(
          "\\n\\s+\\d+:\\n\\s+Labels:\\{([^\\n]*)\\}\\n\\s+Annotations:\\{([^\\n]*)\\}");
  private static final Pattern PAIR = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|[ywdhms])");

  /** Every alert in promtool's failure report, with the step it fired at. */
  private static List<Fired> parse(String output) {
    List<Fired> fired = new ArrayList<>();
    Matcher failure = FAILURE.matcher(output);
    List<Integer> ends = new ArrayList<>();
    List<Long> steps = new ArrayList<>();
    while (failure.find()) {
      ends.add(failure.end());
      steps.add(seconds(failure.group(2)) / INTERVAL.toSeconds());
    }
    for (int k = 0; k < ends.size(); k++) {
      int to = k + 1 < ends.size() ? ends.get(k + 1) : output.length();
      Matcher alert = ALERT.matcher(output).region(ends.get(k), to);
      while (alert.find()) {
        fired.add(new Fired(steps.get(k), pairs(alert.group(1)), pairs(alert.group(2))));
      }
    }
    return fired;
  }

  private static Map<String, String> pairs(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    Matcher p = PAIR.matcher(s);
    while (p.find()) {
      m.put(p.group(1), p.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    return m;
  }

  /** Seconds in a Prometheus duration as promtool prints it (e.g. 1h15m, 1d2h, 30s). */
  private static long seconds(String d) {
    Matcher m = DURATION.matcher(d);
    long ms = 0;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) break;
      long n = Long.parseLong(m.group(1));
      ms +=
          switch (m.group(2)) {
            case "y" -> n * 365 * 86_400_000L;
            case "w" -> n * 7 * 86_400_000L;
            case "d" -> n * 86_400_000L;
            case "h" -> n * 3_600_000L;
            case "m" -> n * 60_000L;
            case "s" -> n * 1_000L;
            default -> n;
          };
      end = m.end();
    }
    if (end != d.length() || end == 0) {
      throw new IllegalStateException("promtool printed a time we cannot read: " + d);
    }
    return ms / 1000;
  }
}

package io.handlewatch.collector;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.dropwizard.configuration.ConfigurationFactory;
import io.dropwizard.core.cli.Command;
import io.dropwizard.core.setup.Bootstrap;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import net.sourceforge.argparse4j.inf.Namespace;
import net.sourceforge.argparse4j.inf.Subparser;

/**
 * {@code handlewatch-collector replay TRACE.jsonl [--config CONFIG.yml]}: feeds a file of
 * HostReports (one protobuf-JSON report per line, in time order, any number of hosts; what {@code
 * handlewatch-agent record} writes) or of HostSamples ({@code sample --json --compact}) through the
 * detector the collector runs, on the trace's own clock, and prints each alert transition as one
 * JSON line: {@code time}, {@code status} (firing/resolved), {@code labels}, {@code annotations}.
 * Detection settings come from the configuration's {@code detection:} section, or the defaults. A
 * malformed line is reported on stderr with its number, counted and skipped; a summary follows on
 * stderr at the end. Exits 0 unless the trace or the configuration cannot be read.
 */
public final class ReplayCommand extends Command {
  private final PrintStream out;
  private final PrintStream err;

  public ReplayCommand() {
    this(System.out, System.err);
  }

  public ReplayCommand(PrintStream out, PrintStream err) {
    super("replay", "Replays a trace of HostReports through the detector and prints alerts");
    this.out = out;
    this.err = err;
  }

  @Override
  public void configure(Subparser subparser) {
    subparser
        .addArgument("trace")
        .metavar("TRACE.jsonl")
        .help(
            "one protobuf-JSON HostReport (handlewatch-agent record) or HostSample (sample --json"
                + " --compact) per line, in time order");
    subparser
        .addArgument("--config")
        .metavar("CONFIG.yml")
        .help("collector configuration whose detection: section to use (default: built-in)");
  }

  @Override
  public void run(Bootstrap<?> bootstrap, Namespace namespace) throws Exception {
    DetectionFactory detection = detection(bootstrap, namespace.getString("config"));
    ObjectMapper json = bootstrap.getObjectMapper();
    int[] transitions = new int[Alert.Status.values().length];
    DetectionEngine engine =
        new DetectionEngine(
            detection.build(),
            a -> {
              transitions[a.status().ordinal()]++;
              out.println(line(json, a));
            },
            points -> {},
            host -> Map.of());
    JsonFormat.Parser parser = JsonFormat.parser().ignoringUnknownFields();
    Path trace = Path.of(namespace.getString("trace"));
    long lineNo = 0;
    long reports = 0;
    long malformed = 0;
    Set<String> hosts = new HashSet<>();
    Instant clock = Instant.MIN;
    Instant nextSweep = Instant.MIN;
    long sweepMs = Math.max(1000, detection.resolution.toMilliseconds());
    try (BufferedReader in = Files.newBufferedReader(trace, StandardCharsets.UTF_8)) {
      for (String text; (text = in.readLine()) != null; ) {
        lineNo++;
        if (text.isBlank()) continue;
        HostReport report;
        try {
          HostReport.Builder b = HostReport.newBuilder();
          parser.merge(text, b);
          if (!b.hasSample()) {
            // `handlewatch-agent sample --json --compact` prints HostSamples: each becomes a
            // report numbered by its line.
            HostSample.Builder s = HostSample.newBuilder();
            parser.merge(text, s);
            if (s.hasHost() || s.hasTime()) b.setSeq(lineNo).setSample(s);
          }
          report = b.build();
          String problem = problem(report);
          if (problem != null) throw new IllegalArgumentException(problem);
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
          malformed++;
          err.println(
              "replay: " + trace + ":" + lineNo + ": skipped, not a HostReport: " + e.getMessage());
          continue;
        }
        reports++;
        hosts.add(report.getSample().getHost().getHostname());
        engine.evaluate(report);
        Instant t = io.handlewatch.collector.store.ReportPoints.timeOf(report);
        if (t.isAfter(clock)) clock = t;
        // Hosts that fall silent in the trace are released on the trace's clock, as live.
        if (!clock.isBefore(nextSweep)) {
          engine.sweep(clock);
          nextSweep = clock.plusMillis(sweepMs);
        }
      }
    }
    err.printf(
        "replay: %d reports of %d hosts from %s, %d malformed lines skipped; %d firing, %d"
            + " resolved and %d released transitions, %d alerts still firing at the end of the"
            + " trace%n",
        reports,
        hosts.size(),
        trace,
        malformed,
        transitions[Alert.Status.FIRING.ordinal()],
        transitions[Alert.Status.RESOLVED.ordinal()],
        transitions[Alert.Status.RELEASED.ordinal()],
        engine.firing());
    out.flush();
  }

  /** What makes a parsed report unusable, or null. */
  private static String problem(HostReport r) {
    if (!r.hasSample()) return "no sample";
    if (r.getSample().getHost().getHostname().isEmpty()) return "no sample.host.hostname";
    if (!r.getSample().hasTime()) return "no sample.time";
    return null;
  }

  private DetectionFactory detection(Bootstrap<?> bootstrap, String path) throws Exception {
    if (path == null) return new DetectionFactory();
    // The same factory as `server` and `check`, so an unknown key is refused here too.
    @SuppressWarnings("unchecked")
    ConfigurationFactory<CollectorConfiguration> factory =
        ((io.dropwizard.configuration.ConfigurationFactoryFactory<CollectorConfiguration>)
                bootstrap.getConfigurationFactoryFactory())
            .create(
                CollectorConfiguration.class,
                bootstrap.getValidatorFactory().getValidator(),
                bootstrap.getObjectMapper(),
                "dw");
    return factory.build(bootstrap.getConfigurationSourceProvider(), path).detection;
  }

  private static String line(ObjectMapper json, Alert a) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("time", a.at().toString());
    m.put("status", a.status().name().toLowerCase(java.util.Locale.ROOT));
    m.put("labels", a.labels());
    m.put("annotations", a.annotations());
    m.put("startsAt", a.startsAt().toString());
    if (a.endsAt() != null) m.put("endsAt", a.endsAt().toString());
    m.put("dedupKey", a.dedupKey());
    try {
      return json.writeValueAsString(m);
    } catch (IOException e) {
      throw new IllegalStateException("alert not serializable: " + a, e);
    }
  }
}

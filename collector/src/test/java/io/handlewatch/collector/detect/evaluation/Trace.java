package io.handlewatch.collector.detect.evaluation;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * One generated trace: the reports of one host, in time order, and what a good detector should make
 * of them.
 *
 * @param name short name, used in the table
 * @param description what happens in it
 * @param reports the host's reports, every 10 s
 * @param leak the leak to page on, or null for a trace that must not page
 */
public record Trace(String name, String description, List<HostReport> reports, Leak leak) {

  /**
   * A leak that should page.
   *
   * @param kind the verdict kind that should page
   * @param subject the subject it should name ({@code comm[pid]})
   * @param start when the leak starts
   * @param exhaustion when the process reaches its soft limit at the leak's rate (the true ETA)
   */
  public record Leak(Kind kind, String subject, Instant start, Instant exhaustion) {}

  public String host() {
    return reports.getFirst().getSample().getHost().getHostname();
  }

  /** Writes the trace as replay reads it: one protobuf-JSON HostReport per line. */
  public void writeJsonLines(Path file) throws IOException {
    JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (HostReport r : reports) w.append(printer.print(r)).append('\n');
    }
  }
}

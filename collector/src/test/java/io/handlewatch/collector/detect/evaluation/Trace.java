package io.handlewatch.collector.detect.evaluation;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
public record Trace(
    String name, String description, List<HostReport> reports, Leak leak, Expect expect) {

  /** A trace judged by the defaults of {@link Expect}: page the leak once, or never page. */
  public Trace(String name, String description, List<HostReport> reports, Leak leak) {
    this(name, description, reports, leak, Expect.DEFAULT);
  }

  /**
   * What a good detector does with the trace beyond paging its leak.
   *
   * @param pageWithin the leak's first page comes at most this long after its start (null: any
   *     time)
   * @param minSeverity the first page is at least this severe ({@code warning} or {@code critical})
   * @param maxEtaError the ETA at the first page is within this share of the truth (when the leak
   *     has an exhaustion time)
   * @param maxFirings firing transitions in all (escalation and re-fire included)
   * @param releasedAt when the leaked handles are released: every alert must be resolved within
   *     {@code resolveWithin} of it (null: they are not)
   * @param held the leak stops growing but keeps its sockets: its alert must still be firing at the
   *     end of the trace
   * @param successor after a restart at {@code successorFrom} the leak goes on in this process
   *     ({@code comm[pid]}): a page naming it must come within {@code successorWithin}
   */
  public record Expect(
      Duration pageWithin,
      String minSeverity,
      double maxEtaError,
      int maxFirings,
      Instant releasedAt,
      Duration resolveWithin,
      boolean held,
      String successor,
      Instant successorFrom,
      Duration successorWithin) {
    public static final Expect DEFAULT =
        new Expect(null, "warning", 0.25, 1, null, null, false, null, null, null);

    public Expect pageWithin(Duration d) {
      return new Expect(
          d,
          minSeverity,
          maxEtaError,
          maxFirings,
          releasedAt,
          resolveWithin,
          held,
          successor,
          successorFrom,
          successorWithin);
    }

    public Expect etaWithin(double share) {
      return new Expect(
          pageWithin,
          minSeverity,
          share,
          maxFirings,
          releasedAt,
          resolveWithin,
          held,
          successor,
          successorFrom,
          successorWithin);
    }

    public Expect severity(String s) {
      return new Expect(
          pageWithin,
          s,
          maxEtaError,
          maxFirings,
          releasedAt,
          resolveWithin,
          held,
          successor,
          successorFrom,
          successorWithin);
    }

    public Expect released(Instant at, Duration within) {
      return new Expect(
          pageWithin,
          minSeverity,
          maxEtaError,
          maxFirings,
          at,
          within,
          held,
          successor,
          successorFrom,
          successorWithin);
    }

    public Expect holding() {
      return new Expect(
          pageWithin,
          minSeverity,
          maxEtaError,
          maxFirings,
          releasedAt,
          resolveWithin,
          true,
          successor,
          successorFrom,
          successorWithin);
    }

    public Expect successor(String subject, Instant from, Duration within) {
      return new Expect(
          pageWithin,
          minSeverity,
          maxEtaError,
          maxFirings + 1,
          releasedAt,
          resolveWithin,
          held,
          subject,
          from,
          within);
    }
  }

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

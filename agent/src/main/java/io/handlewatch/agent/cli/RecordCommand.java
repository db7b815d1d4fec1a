package io.handlewatch.agent.cli;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code handlewatch-agent record --out FILE.jsonl}: samples this host like {@code run} and writes
 * each sample as a HostReport, one protobuf-JSON line each, the trace format the collector's {@code
 * replay} reads: capture a misbehaving host, then test detection settings on it.
 */
@Command(
    name = "record",
    mixinStandardHelpOptions = true,
    description = {
      "Samples this host every --interval and appends each sample to --out as a HostReport (one"
          + " JSON line), the trace format `handlewatch-collector replay` reads.",
      "Stops after --count samples, or on Ctrl-C (every line written is complete)."
    })
final class RecordCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SamplingOptions sampling;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE.jsonl",
      description = "Where the reports go; appended to if it exists ('-' for standard output).")
  String out;

  @Option(
      names = "--count",
      defaultValue = "0",
      paramLabel = "N",
      description = "Samples to take; 0 (the default) records until stopped.")
  long count;

  @Mixin IntervalOption schedule;

  @Override
  public Integer call() throws Exception {
    if (count < 0) {
      throw new ParameterException(spec.commandLine(), "--count must be 0 or more, got " + count);
    }
    Duration interval = schedule.atLeast(IntervalOption.MIN_REPEATING);
    Sampler sampler = sampling.sampler(spec);
    JsonFormat.Printer json = JsonFormat.printer().omittingInsignificantWhitespace();
    boolean stdout = out.equals("-");
    BufferedWriter w =
        stdout
            ? new BufferedWriter(spec.commandLine().getOut())
            : Files.newBufferedWriter(
                Path.of(out),
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    long next = System.nanoTime();
    try {
      for (long seq = 1; count == 0 || seq <= count; seq++) {
        if (seq > 1) {
          next += interval.toNanos();
          long wait = next - System.nanoTime();
          if (wait > 0) Thread.sleep(Duration.ofNanos(wait));
        }
        HostSample s = sampler.sample();
        // One write per line, flushed: a Ctrl-C between samples leaves only whole lines.
        w.write(json.print(HostReport.newBuilder().setSeq(seq).setSample(s).build()) + "\n");
        w.flush();
      }
    } finally {
      if (!stdout) w.close();
    }
    return 0;
  }
}

package io.handlewatch.agent.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.handlewatch.agent.runtime.JavaHeap;
import io.handlewatch.agent.runtime.NativeHeap;
import io.handlewatch.agent.runtime.StartupPages;
import io.handlewatch.agent.sample.SampleText;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.proto.v1.HostSample;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code handlewatch-agent sample}: prints one sample of this host (or of a /proc tree). */
@Command(
    name = "sample",
    mixinStandardHelpOptions = true,
    defaultValueProvider = SampleCommand.Defaults.class,
    description = {
      "Prints one sample of this host's TCP states, file handles, socket owners and sysctls, and exits.",
      "Run as root (or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) to see every process's sockets."
    })
final class SampleCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--json", description = "Print the sample as protobuf JSON (HostSample).")
  boolean json;

  @Option(names = "--compact", description = "With --json: one line per sample.")
  boolean compact;

  @Mixin SamplingOptions sampling;

  @Option(
      names = "--count",
      defaultValue = "1",
      paramLabel = "N",
      description =
          "Take N samples in one run (the first pays for the full fd walk). Default: ${DEFAULT-VALUE}.")
  int count;

  @Mixin IntervalOption schedule;

  /** One second between the samples of {@code --count}: a look now and then, not a schedule. */
  static final class Defaults implements IDefaultValueProvider {
    @Override
    public String defaultValue(ArgSpec argSpec) {
      return argSpec.isOption() && ((OptionSpec) argSpec).longestName().equals("--interval")
          ? "1s"
          : null;
    }
  }

  @Override
  public Integer call() throws Exception {
    if (count < 1) {
      throw new ParameterException(spec.commandLine(), "--count must be at least 1, got " + count);
    }
    Duration interval = schedule.atLeast(Duration.ZERO);
    Sampler sampler = sampling.sampler(spec);
    PrintWriter out = spec.commandLine().getOut();
    for (int i = 0; i < count; i++) {
      if (i > 0) {
        Thread.sleep(interval);
        // What HotSpot freed meanwhile (its compiler arenas go back to glibc every 5 s) would
        // otherwise stay resident through this sample and into its RSS.
        NativeHeap.trim();
        if (i == 1) StartupPages.releaseOnce();
      }
      print(sampler.sample(), out);
      out.flush();
      JavaHeap.collectIfGrown();
      NativeHeap.trim();
    }
    return 0;
  }

  private void print(HostSample sample, PrintWriter out) throws InvalidProtocolBufferException {
    if (!json) {
      out.print(SampleText.render(sample));
      return;
    }
    JsonFormat.Printer printer = JsonFormat.printer();
    out.println(
        compact ? printer.omittingInsignificantWhitespace().print(sample) : printer.print(sample));
  }
}

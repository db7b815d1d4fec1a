package io.handlewatch.agent.cli;

import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --interval}, the time between samples, declared once for every command that samples more
 * than once ({@code sample}, {@code run}, {@code record}, {@code simulate}). The default is 10s; a
 * command that wants another one says so with a default value provider ({@link
 * SampleCommand.Defaults}), so the help still prints the default the command uses.
 */
final class IntervalOption {
  /**
   * The shortest interval of the commands that keep sampling: below it a full sample of a busy host
   * (every process's fds) takes longer than the interval, and ticks are skipped instead of taken.
   */
  static final Duration MIN_REPEATING = Duration.ofMillis(100);

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(
      names = "--interval",
      defaultValue = "10s",
      converter = DurationConverter.class,
      paramLabel = "DURATION",
      description =
          "Time between samples (with sample: between the --count samples; with simulate: of"
              + " each simulated host), e.g. 10s, 500ms. Default: ${DEFAULT-VALUE}.")
  Duration interval;

  /** The interval, refused naming {@code --interval} when shorter than {@code min}. */
  Duration atLeast(Duration min) {
    if (interval.compareTo(min) < 0) {
      throw new ParameterException(
          mixee.commandLine(), "--interval must be at least " + min.toMillis() + "ms");
    }
    return interval;
  }
}

package io.handlewatch.agent.cli;

import io.handlewatch.agent.simulate.SimulatedFleet;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code handlewatch-agent simulate}: a fleet of simulated hosts, for load tests. */
@Command(
    name = "simulate",
    mixinStandardHelpOptions = true,
    description = {
      "Streams realistic samples of N simulated hosts (sim-00000, sim-00001, ...) to a collector,",
      "each on its own stream, for --duration; prints throughput and ack latency every 10 s."
    })
final class SimulateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--collector",
      required = true,
      paramLabel = "HOST:PORT",
      description = "The collector's ingest address.")
  String collector;

  @Option(
      names = "--hosts",
      defaultValue = "1000",
      description = "Simulated hosts. Default: ${DEFAULT-VALUE}.")
  int hosts;

  @Mixin IntervalOption schedule;

  @Option(
      names = "--duration",
      defaultValue = "2m",
      converter = DurationConverter.class,
      description = "How long to run; it stops by itself. Default: ${DEFAULT-VALUE}.")
  Duration duration;

  @Option(
      names = "--measure-after",
      defaultValue = "0s",
      converter = DurationConverter.class,
      description =
          "At the end, also print the ack latency of every ack from this long after the start on"
              + " (a benchmark's steady window). Default: ${DEFAULT-VALUE}.")
  Duration measureAfter;

  @Option(
      names = "--processes",
      defaultValue = "10",
      description = "Processes per sample. Default: ${DEFAULT-VALUE}.")
  int processes;

  @Option(
      names = "--hosts-per-channel",
      defaultValue = "1000",
      description = "Streams sharing one HTTP/2 connection. Default: ${DEFAULT-VALUE}.")
  int hostsPerChannel;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Random seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (hosts < 1 || hosts > 1_000_000)
      throw new ParameterException(spec.commandLine(), "--hosts must be 1..1000000");
    if (processes < 0 || processes > 200)
      throw new ParameterException(spec.commandLine(), "--processes must be 0..200");
    Duration interval = schedule.atLeast(IntervalOption.MIN_REPEATING);
    if (duration.isZero() || duration.isNegative())
      throw new ParameterException(spec.commandLine(), "--duration must be positive");
    if (hostsPerChannel < 1)
      throw new ParameterException(spec.commandLine(), "--hosts-per-channel must be positive");
    if (measureAfter.isNegative() || measureAfter.compareTo(duration) >= 0)
      throw new ParameterException(
          spec.commandLine(), "--measure-after must be at least 0 and shorter than --duration");
    return new SimulatedFleet(
            collector,
            hosts,
            interval,
            processes,
            seed,
            hostsPerChannel,
            spec.commandLine().getOut())
        .measureAfter(measureAfter)
        .run(duration);
  }
}

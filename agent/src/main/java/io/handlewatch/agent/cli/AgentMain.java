package io.handlewatch.agent.cli;

import io.handlewatch.agent.sample.AgentBuild;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code handlewatch-agent}: the per-host agent's command line. */
@Command(
    name = "handlewatch-agent",
    mixinStandardHelpOptions = true,
    versionProvider = AgentMain.Version.class,
    description = "Watches this host's TCP connection states and file handles.",
    subcommands = {
      SampleCommand.class,
      RunCommand.class,
      RecordCommand.class,
      SimulateCommand.class,
      CommandLine.HelpCommand.class
    })
public final class AgentMain implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    // Before anything logs: keep logging through the shutdown hooks (AgentLogManager).
    System.setProperty("java.util.logging.manager", AgentLogManager.class.getName());
    // One line per log event, for operators and journald.
    System.setProperty(
        "java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
    System.exit(execute(args));
  }

  /** Runs a command line as main does, with {@code run --config FILE} expanded. */
  public static int execute(String... args) {
    CommandLine cmd = commandLine();
    try {
      return cmd.execute(ConfigFileArgs.expand(cmd, args));
    } catch (CommandLine.ParameterException e) {
      cmd.getErr().println(e.getMessage());
      return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }
  }

  /**
   * The arguments main would parse: {@code run --config FILE} expanded into options. Deployment
   * tests use it to check the command lines in deploy/ without running them.
   */
  public static String[] withConfigFile(CommandLine cmd, String... args) {
    return ConfigFileArgs.expand(cmd, args);
  }

  /** The command line, for tests that run commands in-process. */
  public static CommandLine commandLine() {
    return new CommandLine(new AgentMain()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a command is required (try 'sample')");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"handlewatch-agent " + AgentBuild.current().describe()};
    }
  }
}

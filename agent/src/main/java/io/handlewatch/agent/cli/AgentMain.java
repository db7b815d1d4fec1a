package io.handlewatch.agent.cli;

import io.handlewatch.agent.runtime.AgentRuntime;
import io.handlewatch.agent.sample.AgentBuild;
import java.util.function.Consumer;
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

  /**
   * The launcher's taker of {@code run}'s daemon: when set, {@code run} hands its daemon here
   * instead of running it, and the taker starts it ({@link AgentRuntime#startWithoutLinkThread}),
   * throwing as that does (an {@link java.io.IOException} wrapped in an {@link
   * java.io.UncheckedIOException}).
   */
  Consumer<AgentRuntime> daemon;

  /**
   * Runs a command line for the launcher ({@code io.handlewatch.agent.launch.Main}), which calls it
   * in a class loader of its own that it drops afterwards. Every command runs here as {@link
   * #execute} runs it, except {@code run}: once its settings are checked, its daemon goes to {@code
   * daemon}, which starts it, and this returns 0; the launcher then runs it on its own thread.
   */
  public static int launch(String[] args, Consumer<AgentRuntime> daemon) {
    CommandLine cmd = commandLine();
    ((AgentMain) cmd.getCommand()).daemon = daemon;
    return execute(cmd, args);
  }

  /** Runs a command line as the launcher does, except that {@code run} runs here until stopped. */
  public static int execute(String... args) {
    return execute(commandLine(), args);
  }

  private static int execute(CommandLine cmd, String[] args) {
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

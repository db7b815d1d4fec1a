package io.handlewatch.deploy;

import io.handlewatch.agent.cli.AgentMain;
import java.util.List;
import picocli.CommandLine;

/**
 * An agent command line shipped in a deployment file, parsed by the agent's own command line
 * (options, their values, and the keys of a {@code --config} properties file) without running it. A
 * bad option fails with picocli's message, which names it.
 */
final class AgentCommandCheck {
  private AgentCommandCheck() {}

  /** Parses {@code args} (the agent's arguments, command first) as the agent would. */
  static CommandLine.ParseResult parse(List<String> args) {
    CommandLine cmd = AgentMain.commandLine();
    return cmd.parseArgs(AgentMain.withConfigFile(cmd, args.toArray(String[]::new)));
  }
}

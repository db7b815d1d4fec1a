package io.handlewatch.deploy;

import io.handlewatch.agent.cli.AgentMain;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * An agent command line shipped in a deployment file, parsed by the agent's own command line
 * (options, their values, and the keys of a {@code --config} properties file) without running it. A
 * bad option fails with picocli's message, which names it.
 */
final class AgentCommandCheck {
  /**
   * Options the deployment files use that arrive on other branches (TLS and tokens; the disk
   * spool), with whether each takes a value. Until this build's agent has one, it is left out of
   * the check and said so; once it does, it is checked like every other option.
   */
  static final Map<String, Boolean> ARRIVING =
      Map.of(
          "--tls", false,
          "--ca-cert", true,
          "--client-cert", true,
          "--client-key", true,
          "--server-name", true,
          "--token-file", true,
          "--spool-dir", true,
          "--spool-max-bytes", true,
          "--spool-fsync", true);

  private AgentCommandCheck() {}

  /** Parses {@code args} (the agent's arguments, command first) as the agent would. */
  static CommandLine.ParseResult parse(String where, List<String> args, Path scratch)
      throws IOException {
    CommandLine cmd = AgentMain.commandLine();
    CommandSpec sub = cmd.getSubcommands().get(args.getFirst()).getCommandSpec();
    List<String> kept = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      String option = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
      if (ARRIVING.containsKey(option) && sub.findOption(option) == null) {
        System.err.println(where + ": " + option + " not checked: this build's agent lacks it");
        if (ARRIVING.get(option) && !a.contains("=")) i++;
        continue;
      }
      if (a.equals("--config")) {
        kept.add(a);
        kept.add(checkable(where, Path.of(args.get(++i)), sub, scratch).toString());
        continue;
      }
      kept.add(a);
    }
    return cmd.parseArgs(AgentMain.withConfigFile(cmd, kept.toArray(String[]::new)));
  }

  /** The properties file, less the arriving keys this build's agent lacks. */
  private static Path checkable(String where, Path file, CommandSpec sub, Path scratch)
      throws IOException {
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      props.load(r);
    }
    Set<String> keys = Set.copyOf(props.stringPropertyNames());
    for (String key : keys) {
      if (ARRIVING.containsKey("--" + key) && sub.findOption("--" + key) == null) {
        System.err.println(where + ": " + key + "= not checked: this build's agent lacks it");
        props.remove(key);
      }
    }
    Path copy = Files.createTempFile(scratch, "agent", ".properties");
    try (Writer w = Files.newBufferedWriter(copy)) {
      props.store(w, "checkable copy of " + file);
    }
    return copy;
  }
}

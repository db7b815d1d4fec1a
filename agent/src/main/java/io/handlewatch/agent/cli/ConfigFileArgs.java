package io.handlewatch.agent.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * {@code run --config FILE}: the file's {@code key=value} lines become options placed before the
 * command line's own, so a flag given on the command line wins. Keys are the long option names
 * without dashes; an unknown key stops start-up with its name and the file's.
 */
final class ConfigFileArgs {
  private ConfigFileArgs() {}

  static String[] expand(CommandLine root, String[] args) {
    if (args.length == 0 || !root.getSubcommands().containsKey(args[0])) return args;
    CommandLine sub = root.getSubcommands().get(args[0]);
    if (sub.getCommandSpec().findOption("--config") == null) return args;
    Path file = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) file = Path.of(args[i + 1]);
      else if (args[i].startsWith("--config=")) file = Path.of(args[i].substring(9));
    }
    if (file == null) return args;
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      props.load(r);
    } catch (IOException e) {
      throw new ParameterException(sub, "--config: cannot read " + file + ": " + e.getMessage());
    }
    List<String> out = new ArrayList<>();
    out.add(args[0]);
    for (String key : new TreeSet<>(props.stringPropertyNames())) {
      OptionSpec option = sub.getCommandSpec().findOption("--" + key);
      if (option == null || key.equals("config")) {
        throw new ParameterException(
            sub,
            "--config "
                + file
                + ": unknown key '"
                + key
                + "' (keys are long option names without dashes, e.g. collector, interval)");
      }
      String value = props.getProperty(key).strip();
      if (option.arity().max() == 0) {
        if (Boolean.parseBoolean(value)) out.add("--" + key);
      } else {
        out.add("--" + key + "=" + value);
      }
    }
    for (int i = 1; i < args.length; i++) out.add(args[i]);
    sub.setOverwrittenOptionsAllowed(true);
    return out.toArray(String[]::new);
  }
}

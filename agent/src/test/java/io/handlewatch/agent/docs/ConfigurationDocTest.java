package io.handlewatch.agent.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.cli.AgentMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.OptionSpec;

/**
 * docs/configuration.md names every option of every agent command, under a heading naming that
 * command ("### `run`"), and no option the command does not take. The options come from picocli's
 * own model of the command line the agent parses, so an option added without a row fails here, and
 * so does a row left behind by a removed option. {@code --help} and {@code --version} need no row.
 */
class ConfigurationDocTest {
  static final Path DOC = Path.of("..", "docs", "configuration.md");

  /** A heading of options several commands share names each: "### Sampling: `sample`, `run`". */
  static final Pattern COMMAND = Pattern.compile("`([a-z]+)`");

  /** An option's row: the first cell of a table row, its long name in backticks. */
  static final Pattern ROW = Pattern.compile("^\\| `(--[a-z0-9-]+)");

  @Test
  void everyOptionOfEveryCommandIsDocumentedAndEveryDocumentedOptionExists() throws Exception {
    Map<String, Set<String>> code = new TreeMap<>();
    for (var e : AgentMain.commandLine().getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) continue;
      Set<String> options = new TreeSet<>();
      for (OptionSpec o : e.getValue().getCommandSpec().options()) {
        if (o.usageHelp() || o.versionHelp()) continue;
        options.add(o.longestName());
      }
      code.put(e.getKey(), options);
    }
    assertThat(code).containsKeys("run", "sample", "record", "simulate");
    assertThat(code.get("run")).contains("--collector", "--config", "--spool-dir", "--tls");

    Map<String, Set<String>> doc = documented();
    assertThat(doc.keySet()).as("commands with a section in %s", DOC).isEqualTo(code.keySet());
    for (String command : code.keySet()) {
      Set<String> missing = new TreeSet<>(code.get(command));
      missing.removeAll(doc.get(command));
      Set<String> unknown = new TreeSet<>(doc.get(command));
      unknown.removeAll(code.get(command));
      assertThat(missing).as("options of '%s' without a row in %s", command, DOC).isEmpty();
      assertThat(unknown).as("rows of '%s' in %s naming no option", command, DOC).isEmpty();
    }
  }

  /**
   * A key of {@code run --config FILE} is the long option name without its dashes: the document
   * says so once, and this holds it for every option {@code run} takes.
   */
  @Test
  void everyOptionOfRunIsAConfigFileKey() throws Exception {
    Path file = Files.createTempFile("agent", ".properties");
    try {
      var run = AgentMain.commandLine().getSubcommands().get("run").getCommandSpec();
      for (OptionSpec o : run.options()) {
        if (o.usageHelp() || o.versionHelp() || o.longestName().equals("--config")) continue;
        String key = o.longestName().substring(2);
        Files.writeString(file, key + "=" + (o.arity().max() == 0 ? "true" : "x") + "\n");
        String[] args =
            AgentMain.withConfigFile(AgentMain.commandLine(), "run", "--config", file.toString());
        assertThat(String.join(" ", args)).as("config key %s", key).contains("--" + key);
      }
    } finally {
      Files.delete(file);
    }
  }

  /** Option names by command: the rows under each "### `command`" heading of the agent part. */
  static Map<String, Set<String>> documented() throws Exception {
    Map<String, Set<String>> out = new TreeMap<>();
    boolean inAgent = false;
    List<Set<String>> current = new ArrayList<>();
    for (String line : Files.readAllLines(DOC)) {
      if (line.startsWith("## ")) {
        inAgent = line.startsWith("## Agent");
        current.clear();
      }
      if (!inAgent) continue;
      if (line.startsWith("### ")) {
        current.clear();
        Matcher c = COMMAND.matcher(line);
        while (c.find()) current.add(out.computeIfAbsent(c.group(1), k -> new TreeSet<>()));
      }
      Matcher m = ROW.matcher(line);
      if (m.find()) for (Set<String> options : current) options.add(m.group(1));
    }
    return out;
  }
}

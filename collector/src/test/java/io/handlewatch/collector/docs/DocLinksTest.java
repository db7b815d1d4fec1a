package io.handlewatch.collector.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documentation is the repository's own: no file points outside the repository at the founders'
 * notes, and every relative link in a Markdown file reaches a file that exists and, when it names a
 * section of a Markdown file, a heading that exists (GitHub's anchors). Moving or renaming a
 * document or a heading without fixing its links fails here.
 */
class DocLinksTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /** Spelled in two pieces so that this file does not hold what it looks for. */
  static final String OUTSIDE = ".." + "/shared";

  static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

  @Test
  void noFileLinksOutsideTheRepository() throws IOException {
    List<String> offenders = new ArrayList<>();
    for (Path f : files()) {
      if (Files.size(f) > 4 << 20) continue;
      String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
      if (text.contains(OUTSIDE)) offenders.add(ROOT.relativize(f).toString());
    }
    assertThat(offenders).as("files naming %s", OUTSIDE).isEmpty();
  }

  @Test
  void everyRelativeLinkInMarkdownResolves() throws IOException {
    List<Path> markdown = files().stream().filter(f -> f.toString().endsWith(".md")).toList();
    assertThat(markdown)
        .as("Markdown files of the repository")
        .contains(ROOT.resolve("README.md"), ROOT.resolve("docs/architecture.md"));
    Set<String> broken = new TreeSet<>();
    int links = 0;
    for (Path md : markdown) {
      for (String target : links(md)) {
        if (target.matches("^[a-z][a-z0-9+.-]*:.*")) continue; // https:, mailto:
        links++;
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? md : md.getParent().resolve(file).normalize();
        String where = ROOT.relativize(md) + ": " + target;
        if (!resolved.startsWith(ROOT)) broken.add(where + " (outside the repository)");
        else if (!Files.exists(resolved)) broken.add(where + " (no such file)");
        else if (anchor != null
            && resolved.toString().endsWith(".md")
            && !anchors(resolved).contains(anchor)) {
          broken.add(where + " (no such heading)");
        }
      }
    }
    assertThat(links).as("relative links checked").isGreaterThan(50);
    assertThat(broken).as("broken links").isEmpty();
  }

  /** Link targets outside fenced code blocks. */
  static List<String> links(Path md) throws IOException {
    List<String> out = new ArrayList<>();
    boolean code = false;
    for (String line : Files.readAllLines(md)) {
      if (line.strip().startsWith("```")) code = !code;
      if (code) continue;
      Matcher m = LINK.matcher(line.replaceAll("`[^`]*`", ""));
      while (m.find()) out.add(m.group(1));
    }
    return out;
  }

  /** The anchors GitHub makes of a file's headings. */
  static Set<String> anchors(Path md) throws IOException {
    Set<String> out = new HashSet<>();
    boolean code = false;
    for (String line : Files.readAllLines(md)) {
      if (line.strip().startsWith("```")) code = !code;
      if (code || !line.startsWith("#")) continue;
      String slug =
          line.replaceFirst("^#+\\s*", "")
              .strip()
              .toLowerCase(Locale.ROOT)
              .replaceAll("[^\\p{L}\\p{N} _-]", "")
              .replace(' ', '-');
      String unique = slug;
      for (int i = 1; !out.add(unique); i++) unique = slug + "-" + i;
    }
    return out;
  }

  /** The repository's files: not .git, build output or a quick start's state. */
  static List<Path> files() throws IOException {
    try (Stream<Path> s = Files.walk(ROOT)) {
      return s.filter(Files::isRegularFile)
          .filter(
              f -> {
                String rel = ROOT.relativize(f).toString();
                return !rel.equals(".git")
                    && !rel.startsWith(".git/")
                    && !rel.startsWith(".quickstart/")
                    && !rel.contains("/target/")
                    && !rel.startsWith("target/")
                    && !rel.contains("/node_modules/");
              })
          .toList();
    }
  }
}

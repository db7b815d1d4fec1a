package io.handlewatch.collector;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.Properties;

/**
 * The collector's version and the git commit it was built from, as the build wrote them into {@code
 * build.properties}. The start-up log and {@code --version} show them.
 *
 * @param version the Maven version, e.g. {@code 0.1.0}
 * @param commit the abbreviated git commit; empty when the build could not tell (no git checkout)
 */
public record CollectorBuild(String version, Optional<String> commit) {
  private static final CollectorBuild CURRENT = load();

  /** This collector's build. */
  public static CollectorBuild current() {
    return CURRENT;
  }

  /** {@code 0.1.0 (commit 0123456789ab)}, or the version alone when the commit is unknown. */
  public String describe() {
    return version + commit.map(c -> " (commit " + c + ")").orElse("");
  }

  static CollectorBuild load() {
    Properties p = new Properties();
    try (InputStream in =
        CollectorBuild.class.getResourceAsStream("/io/handlewatch/collector/build.properties")) {
      if (in == null) {
        // Built without Maven's resources (an IDE): say so rather than invent a version.
        return new CollectorBuild("unknown", Optional.empty());
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the collector's build.properties", e);
    }
    return of(p.getProperty("version"), p.getProperty("commit"));
  }

  /** From the values the build filled in; an unfilled {@code ${...}} counts as unknown. */
  static CollectorBuild of(String version, String commit) {
    String v = filled(version) ? version.strip() : "unknown";
    return new CollectorBuild(v, filled(commit) ? Optional.of(commit.strip()) : Optional.empty());
  }

  private static boolean filled(String s) {
    // buildnumber-maven-plugin says "unknown" outside a git checkout.
    return s != null && !s.isBlank() && !s.contains("${") && !s.strip().equals("unknown");
  }
}

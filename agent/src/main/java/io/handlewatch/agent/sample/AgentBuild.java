package io.handlewatch.agent.sample;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.Properties;

/**
 * The agent's version and the git commit it was built from, as the build wrote them into {@code
 * build.properties}. Every report carries them (so the fleet page shows a half-finished rollout)
 * and {@code --version} prints them.
 *
 * @param version the Maven version, e.g. {@code 0.1.0}
 * @param commit the abbreviated git commit; empty when the build could not tell (no git checkout)
 */
public record AgentBuild(String version, Optional<String> commit) {
  private static final AgentBuild CURRENT = load();

  /** This agent's build. */
  public static AgentBuild current() {
    return CURRENT;
  }

  /** {@code 0.1.0 (commit 0123456789ab)}, or the version alone when the commit is unknown. */
  public String describe() {
    return version + commit.map(c -> " (commit " + c + ")").orElse("");
  }

  static AgentBuild load() {
    Properties p = new Properties();
    try (InputStream in =
        AgentBuild.class.getResourceAsStream("/io/handlewatch/agent/build.properties")) {
      if (in == null) {
        // Built without Maven's resources (an IDE): say so rather than invent a version.
        return new AgentBuild("unknown", Optional.empty());
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the agent's build.properties", e);
    }
    return of(p.getProperty("version"), p.getProperty("commit"));
  }

  /** From the values the build filled in; an unfilled {@code ${...}} counts as unknown. */
  static AgentBuild of(String version, String commit) {
    String v = filled(version) ? version.strip() : "unknown";
    return new AgentBuild(v, filled(commit) ? Optional.of(commit.strip()) : Optional.empty());
  }

  private static boolean filled(String s) {
    // buildnumber-maven-plugin says "unknown" outside a git checkout.
    return s != null && !s.isBlank() && !s.contains("${") && !s.strip().equals("unknown");
  }
}

package io.handlewatch.collector.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agents' tokens file: which host each bearer token speaks for. One agent per line, {@code HOST
 * TOKEN} or {@code HOST sha256:HEX} (the token's SHA-256, so the file need not hold the secret);
 * {@code #} starts a comment. A host may have several tokens (to rotate them), a token belongs to
 * one host.
 *
 * <p>{@link #reloadIfChanged()} re-reads the file when its size or modification time changed; a
 * file that no longer parses is logged and counted, and the tokens read before stay in force.
 */
public final class AgentTokens {
  private static final Logger log = LoggerFactory.getLogger(AgentTokens.class);
  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?");

  private final Path file;
  private final AtomicLong reloadFailures = new AtomicLong();
  private volatile Map<String, String> hostByDigest;
  private volatile String stamp;

  private AgentTokens(Path file, Map<String, String> hostByDigest, String stamp) {
    this.file = file;
    this.hostByDigest = hostByDigest;
    this.stamp = stamp;
  }

  /**
   * Reads the file once.
   *
   * @throws IllegalArgumentException naming {@code key}, the file and the line when it cannot be
   *     used
   */
  public static AgentTokens load(String key, Path file) {
    try {
      String stamp = stamp(file);
      return new AgentTokens(file, parse(Files.readAllLines(file, StandardCharsets.UTF_8)), stamp);
    } catch (IOException e) {
      throw new IllegalArgumentException(key + ": cannot read " + file + ": " + e, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + file + ": " + e.getMessage(), e);
    }
  }

  /** The host a token speaks for, if the token is known. */
  public Optional<String> hostFor(String token) {
    return Optional.ofNullable(hostByDigest.get(HexFormat.of().formatHex(TokenDigests.of(token))));
  }

  public int size() {
    return hostByDigest.size();
  }

  /** Reloads that failed since start. */
  public long reloadFailures() {
    return reloadFailures.get();
  }

  /** Re-reads the file if it changed; returns whether a new table is in force. */
  public boolean reloadIfChanged() {
    try {
      String now = stamp(file);
      if (now.equals(stamp)) return false;
      Map<String, String> table = parse(Files.readAllLines(file, StandardCharsets.UTF_8));
      hostByDigest = table;
      stamp = now;
      log.info("agent tokens reloaded from {}: {} tokens", file, table.size());
      return true;
    } catch (IOException | IllegalArgumentException e) {
      long n = reloadFailures.incrementAndGet();
      log.warn(
          "agent tokens: cannot reload {}, keeping the {} tokens read before ({} failed reloads): {}",
          file,
          hostByDigest.size(),
          n,
          e.getMessage());
      return false;
    }
  }

  private static String stamp(Path file) throws IOException {
    FileTime t = Files.getLastModifiedTime(file);
    return t.toMillis() + "/" + Files.size(file);
  }

  static Map<String, String> parse(List<String> lines) {
    Map<String, String> table = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int hash = line.indexOf('#');
      if (hash >= 0) line = line.substring(0, hash);
      line = line.strip();
      if (line.isEmpty()) continue;
      String[] parts = line.split("\\s+");
      String at = "line " + (i + 1);
      if (parts.length != 2) {
        throw new IllegalArgumentException(at + ": expected HOST TOKEN (or HOST sha256:HEX)");
      }
      if (!HOST.matcher(parts[0]).matches()) {
        throw new IllegalArgumentException(at + ": not a host name");
      }
      byte[] digest;
      try {
        digest = TokenDigests.ofConfigured(parts[1]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
      }
      String previous = table.putIfAbsent(HexFormat.of().formatHex(digest), parts[0]);
      if (previous != null && !previous.equals(parts[0])) {
        throw new IllegalArgumentException(
            at + ": this token already belongs to " + previous + "; a token speaks for one host");
      }
    }
    return Map.copyOf(table);
  }
}

package io.handlewatch.collector.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Bearer tokens are kept and compared as SHA-256 digests, so a configuration or tokens file may
 * hold {@code sha256:HEX} instead of the token itself, and a token is never kept in memory longer
 * than the request that carried it.
 */
public final class TokenDigests {
  private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-fA-F]{64}");
  private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]{16,4096}");

  private TokenDigests() {}

  /** The digest of a token as presented by a client. */
  public static byte[] of(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * The digest of a configured token: {@code sha256:HEX} is taken as the digest itself, anything
   * else as the token (printable ASCII without spaces, at least 16 characters).
   *
   * @throws IllegalArgumentException saying what is wrong, without echoing the value
   */
  public static byte[] ofConfigured(String value) {
    if (value.regionMatches(true, 0, "sha256:", 0, 7)) {
      if (!SHA256.matcher(value).matches()) {
        throw new IllegalArgumentException("sha256: must be followed by 64 hex digits");
      }
      return HexFormat.of().parseHex(value.substring(7).toLowerCase(Locale.ROOT));
    }
    if (!TOKEN.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "a token is 16 to 4096 printable ASCII characters without spaces (or sha256:HEX)");
    }
    return of(value);
  }

  /** The {@code sha256:HEX} form of a token, for writing configurations. */
  public static String describe(String token) {
    return "sha256:" + HexFormat.of().formatHex(of(token));
  }

  /** The token of an {@code Authorization: Bearer TOKEN} header value, or null. */
  public static String bearer(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
    String token = header.substring(7).strip();
    return token.isEmpty() ? null : token;
  }
}

package io.handlewatch.collector.store;

/**
 * Makes a tag value safe for every store, the same way for all of them so a value reads back the
 * same from InfluxDB and from memory.
 *
 * <p>Line protocol (InfluxDB 1.x) can escape spaces, commas and '=' in a tag value but has no
 * escape for a line break, and a value ending in a backslash would escape the separator after it.
 * So control characters are spelled out as their C escapes ({@code \n} becomes the two characters
 * backslash and 'n', as Telegraf and the InfluxDB clients do), trailing backslashes are trimmed,
 * and an empty value becomes "-" (InfluxDB drops empty tags, which would merge series). Everything
 * else (spaces, commas, '=', quotes, inner backslashes, non-ASCII) is kept as is.
 */
public final class TagValues {
  private TagValues() {}

  /** Longest tag value kept; longer ones are cut (the validator refuses far longer strings). */
  public static final int MAX_LENGTH = 256;

  public static String safe(String value) {
    if (value == null || value.isEmpty()) {
      return "-";
    }
    StringBuilder sb = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      String replacement =
          switch (c) {
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\f' -> "\\f";
            default -> (c < 0x20 || c == 0x7f) ? String.format("\\x%02x", (int) c) : null;
          };
      if (replacement != null && sb == null) {
        sb = new StringBuilder(value.length() + 8).append(value, 0, i);
      }
      if (sb != null) {
        if (replacement != null) {
          sb.append(replacement);
        } else {
          sb.append(c);
        }
      }
    }
    String s = sb == null ? value : sb.toString();
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == '\\') {
      end--;
    }
    if (end > MAX_LENGTH) {
      end = MAX_LENGTH;
      while (end > 0 && s.charAt(end - 1) == '\\') {
        end--;
      }
    }
    s = s.substring(0, end);
    return s.isEmpty() ? "-" : s;
  }
}

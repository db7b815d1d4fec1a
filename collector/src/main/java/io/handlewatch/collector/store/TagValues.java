package io.handlewatch.collector.store;

/**
 * Makes a tag value safe for every store, the same way for all of them so a value reads back the
 * same from InfluxDB and from memory.
 *
 * <p>Line protocol (InfluxDB 1.x) can escape spaces, commas and '=' in a tag value but has no
 * escape for a line break, and a value ending in a backslash would escape the separator after it.
 * So control characters are spelled out as their C escapes ({@code \n} becomes the two characters
 * backslash and 'n', as Telegraf and the InfluxDB clients do), and an empty value becomes "-"
 * (InfluxDB drops empty tags, which would merge series). Everything else (spaces, commas, '=',
 * quotes, backslashes, non-ASCII) is kept as is. A trailing backslash is kept too: the InfluxDB
 * store spells it out on the wire itself ({@link #toLineProtocol}) and reads it back, so the value
 * a filter names is the value stored.
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
    return s.length() > MAX_LENGTH ? s.substring(0, MAX_LENGTH) : s;
  }

  /** How line protocol carries a trailing backslash: spelled out, one per backslash. */
  private static final String TRAILING_BACKSLASH = "\\x5c";

  /**
   * A tag value as line protocol can carry it. InfluxDB 1.x treats a separator after any backslash
   * as escaped (it looks one byte back, so no doubling helps), so a trailing backslash would eat
   * the space or comma after it: each one at the end is written as {@code \x5c} instead, the C
   * escape the control characters get, and {@link #fromLineProtocol} turns them back.
   */
  public static String toLineProtocol(String safe) {
    int end = safe.length();
    while (end > 0 && safe.charAt(end - 1) == '\\') end--;
    if (end == safe.length()) return safe;
    return safe.substring(0, end) + TRAILING_BACKSLASH.repeat(safe.length() - end);
  }

  /** A tag value as InfluxDB returns it, with the trailing backslashes it was written with. */
  public static String fromLineProtocol(String stored) {
    int end = stored.length();
    int n = 0;
    while (stored.startsWith(TRAILING_BACKSLASH, end - TRAILING_BACKSLASH.length())
        && end >= TRAILING_BACKSLASH.length()) {
      end -= TRAILING_BACKSLASH.length();
      n++;
    }
    return n == 0 ? stored : stored.substring(0, end) + "\\".repeat(n);
  }
}

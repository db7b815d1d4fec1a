package io.handlewatch.agent.source.parse;

/**
 * Parses the "Max open files" row of {@code /proc/PID/limits}: the process's RLIMIT_NOFILE, where
 * open() starts failing with EMFILE. The table is fixed-width with a header; only this row is
 * needed.
 */
public final class LimitsParser {
  /** RLIM_INFINITY, printed by the kernel as "unlimited". */
  public static final long UNLIMITED = Long.MAX_VALUE;

  private static final String ROW = "Max open files";

  private LimitsParser() {}

  /** Soft and hard RLIMIT_NOFILE; {@link #UNLIMITED} for "unlimited". */
  public record NofileLimit(long soft, long hard) {}

  public static NofileLimit parseNofile(String file, String content) throws ProcParseException {
    String[] lines = content.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith(ROW)) {
        continue;
      }
      String[] f = lines[i].substring(ROW.length()).strip().split("\\s+");
      if (f.length < 2) {
        throw new ProcParseException(
            file,
            i + 1,
            "expected soft and hard limits after '" + ROW + "', got '" + lines[i].strip() + "'");
      }
      return new NofileLimit(limit(f[0], file, i + 1, "soft"), limit(f[1], file, i + 1, "hard"));
    }
    throw new ProcParseException(file, 0, "no '" + ROW + "' row");
  }

  private static long limit(String raw, String file, int line, String which)
      throws ProcParseException {
    return raw.equals("unlimited")
        ? UNLIMITED
        : Numbers.parseUnsigned(raw, file, line, which + " limit");
  }
}

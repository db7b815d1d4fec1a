package io.handlewatch.agent.source.parse;

/** Number parsing for /proc content, with errors that name the file, the line and the field. */
public final class Numbers {
  private Numbers() {}

  /** A non-negative decimal that fits in a signed long. */
  public static long parseUnsigned(String raw, String file, int line, String what)
      throws ProcParseException {
    if (raw.isEmpty() || raw.length() > 19) {
      throw new ProcParseException(
          file, line, "expected a number for " + what + ", got '" + raw + "'");
    }
    long v = 0;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c < '0' || c > '9') {
        throw new ProcParseException(
            file, line, "expected a number for " + what + ", got '" + raw + "'");
      }
      v = v * 10 + (c - '0');
    }
    if (v < 0) {
      throw new ProcParseException(
          file, line, "number out of range for " + what + ": '" + raw + "'");
    }
    return v;
  }
}

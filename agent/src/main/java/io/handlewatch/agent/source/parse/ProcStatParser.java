package io.handlewatch.agent.source.parse;

/**
 * Parses {@code /proc/PID/stat} for the two fields the agent needs: comm (field 2, in parentheses,
 * and free to contain spaces and ')') and starttime (field 22, clock ticks since boot), which
 * together with the pid names one process for its lifetime.
 */
public final class ProcStatParser {
  private ProcStatParser() {}

  /** The command name and start time of a process. */
  public record ProcStat(String comm, long startTicks) {}

  public static ProcStat parse(String file, String content) throws ProcParseException {
    int open = content.indexOf('(');
    // comm may itself contain ')': the last one closes it.
    int close = content.lastIndexOf(')');
    if (open < 0 || close < open) {
      throw new ProcParseException(file, 1, "no '(comm)' field");
    }
    String comm = content.substring(open + 1, close);
    String[] rest = content.substring(close + 1).strip().split("\\s+");
    // rest[0] is field 3 (state), so field 22 is rest[19].
    if (rest.length < 20) {
      throw new ProcParseException(
          file, 1, "expected at least 22 fields, got " + (rest.length + 2));
    }
    return new ProcStat(comm, Numbers.parseUnsigned(rest[19], file, 1, "starttime (field 22)"));
  }
}

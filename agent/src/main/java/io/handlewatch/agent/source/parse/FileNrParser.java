package io.handlewatch.agent.source.parse;

/**
 * Parses {@code /proc/sys/fs/file-nr}: "allocated unused max" on one line. The middle field has
 * been 0 since Linux 2.6 (allocated handles are freed, not pooled), so it is read but not kept.
 */
public final class FileNrParser {
  private FileNrParser() {}

  /** Allocated and maximum file handles. */
  public record FileNr(long allocated, long max) {}

  public static FileNr parse(String file, String content) throws ProcParseException {
    String line = content.strip();
    if (line.isEmpty()) {
      throw new ProcParseException(file, 1, "empty file");
    }
    if (line.indexOf('\n') >= 0) {
      throw new ProcParseException(file, 2, "expected one line, got more");
    }
    String[] f = line.split("\\s+");
    if (f.length != 3) {
      throw new ProcParseException(
          file,
          1,
          "expected 3 fields (allocated unused max), got " + f.length + ": '" + line + "'");
    }
    long allocated = Numbers.parseUnsigned(f[0], file, 1, "allocated");
    Numbers.parseUnsigned(f[1], file, 1, "unused");
    long max = Numbers.parseUnsigned(f[2], file, 1, "max");
    return new FileNr(allocated, max);
  }
}

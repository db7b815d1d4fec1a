package io.handlewatch.agent.source.parse;

/**
 * A /proc file whose content is not what the kernel documents: says which file, which line, what.
 */
public final class ProcParseException extends Exception {
  private final String file;
  private final int line;
  private final String problem;

  /**
   * @param file the file as the operator would look for it, e.g. "/proc/net/sockstat"
   * @param line 1-based line number, or 0 when the problem is the file as a whole
   * @param problem what was wrong, e.g. "expected a number after 'inuse', got 'x'"
   */
  public ProcParseException(String file, int line, String problem) {
    super(line > 0 ? file + ":" + line + ": " + problem : file + ": " + problem);
    this.file = file;
    this.line = line;
    this.problem = problem;
  }

  public String file() {
    return file;
  }

  public int line() {
    return line;
  }

  public String problem() {
    return problem;
  }
}

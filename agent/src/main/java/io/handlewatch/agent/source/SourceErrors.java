package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcParseException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into the one-line reasons operators read in the sample's health. */
public final class SourceErrors {
  private SourceErrors() {}

  /** "permission denied: /proc/1/fd", "missing: /proc/net/sockstat6", "parse error at F:L: ...". */
  public static String describe(Throwable e) {
    return switch (e) {
      case AccessDeniedException a -> "permission denied: " + a.getFile();
      case NoSuchFileException n -> "missing: " + n.getFile();
      case ProcParseException p -> "parse error at " + p.getMessage();
      default -> e.getClass().getSimpleName() + ": " + e.getMessage();
    };
  }
}

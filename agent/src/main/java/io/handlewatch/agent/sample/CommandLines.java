package io.handlewatch.agent.sample;

/**
 * How much of a reported process's {@code /proc/PID/cmdline} leaves the host. Arguments can hold
 * secrets ({@code --password=...}, tokens in URLs), and what the agent sends is stored and shown by
 * the collector's API and fleet page, so by default only the program (argv[0]) travels; the pid and
 * comm already name the process.
 */
public enum CommandLines {
  /** Every argument, joined by spaces, cut to {@value #MAX_CHARS} characters. */
  FULL,
  /** The program only (argv[0]), cut to {@value #MAX_CHARS} characters. */
  ARGV0,
  /** No command line at all. */
  NONE;

  /** Cap on a reported command line: enough to tell two JVMs apart, small on the wire. */
  public static final int MAX_CHARS = 200;

  /**
   * What to report of {@code raw}, the NUL-separated content of {@code /proc/PID/cmdline}; null for
   * nothing (NONE, or a kernel thread's empty cmdline).
   */
  public String apply(String raw) {
    if (this == NONE) return null;
    String kept =
        switch (this) {
          case FULL -> raw.replace('\0', ' ').strip();
          default -> {
            int end = raw.indexOf('\0');
            yield (end < 0 ? raw : raw.substring(0, end)).strip();
          }
        };
    if (kept.isEmpty()) return null;
    return kept.length() > MAX_CHARS ? kept.substring(0, MAX_CHARS) : kept;
  }
}

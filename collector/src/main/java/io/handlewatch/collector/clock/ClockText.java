package io.handlewatch.collector.clock;

import java.text.NumberFormat;
import java.util.Locale;

/** How offsets read in logs, refusals and pages: "3,600 s behind", "2.5 s ahead of". */
public final class ClockText {
  private ClockText() {}

  /**
   * "3,600 s behind" or "12.3 s ahead of" (agent minus collector, in ms): reads before "the
   * collector".
   */
  public static String offset(long offsetMs) {
    if (offsetMs == 0) return "in step with";
    return seconds(Math.abs(offsetMs)) + (offsetMs > 0 ? " ahead of" : " behind");
  }

  /** Seconds with thousands separators, one decimal under 100 s: "3,600 s", "2.5 s". */
  public static String seconds(long ms) {
    NumberFormat f = NumberFormat.getNumberInstance(Locale.ENGLISH);
    f.setMaximumFractionDigits(ms < 100_000 ? 1 : 0);
    return f.format(ms / 1000.0) + " s";
  }

  /** A limit as written in the configuration's units: "365 days", "7 days", "5 minutes". */
  static String duration(long ms) {
    java.time.Duration d = java.time.Duration.ofMillis(ms);
    if (d.toDays() > 0 && d.toHours() % 24 == 0) return d.toDays() + " days";
    if (d.toMinutes() > 0 && d.toSeconds() % 60 == 0) return d.toMinutes() + " minutes";
    return seconds(ms);
  }
}

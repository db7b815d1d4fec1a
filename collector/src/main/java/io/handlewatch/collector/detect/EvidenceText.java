package io.handlewatch.collector.detect;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/** Numbers, rates and durations as a page shows them: "3,812", "+40/min", "about 1 h 50 min". */
final class EvidenceText {
  private EvidenceText() {}

  static String count(double v) {
    if (Double.isNaN(v)) return "?";
    return String.format(Locale.ROOT, "%,d", Math.round(v));
  }

  static String rate(double perMinute) {
    double a = Math.abs(perMinute);
    String n =
        a >= 10
            ? String.format(Locale.ROOT, "%,d", Math.round(perMinute))
            : String.format(Locale.ROOT, "%.2g", perMinute);
    return (perMinute >= 0 ? "+" : "") + n + "/min";
  }

  static String percent(double used, double limit) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * used / limit);
  }

  /** "about 1 h 50 min", "about 12 min", "about 3 d 4 h", "now". */
  static String eta(Duration d) {
    long min = d.toMinutes();
    if (min <= 0) return "now";
    return "about " + span(d);
  }

  /** "1 h 50 min", "12 min", "40 s". */
  static String span(Duration d) {
    long s = d.toSeconds();
    if (s < 60) return s + " s";
    long min = s / 60;
    if (min < 60) return min + " min";
    long h = min / 60;
    if (h < 48) return h + " h" + (min % 60 == 0 ? "" : " " + (min % 60) + " min");
    return (h / 24) + " d" + (h % 24 == 0 ? "" : " " + (h % 24) + " h");
  }

  static String time(Instant t) {
    return t.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}

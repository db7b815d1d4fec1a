package io.handlewatch.collector.api;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Times and durations as the API takes them: RFC 3339 ({@code 2026-11-24T10:00:00Z}, {@code
 * 2026-11-24T12:00:00+02:00}), relative to now ({@code now}, {@code -6h}, {@code now-30m}), and
 * durations with a unit ({@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 2d}, {@code
 * 1w}). A value that is none of these is a 400 naming the parameter.
 */
public final class TimeParams {
  private TimeParams() {}

  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d|w)");
  private static final Pattern RELATIVE = Pattern.compile("(?:now)?-(\\d{1,9}(?:ms|s|m|h|d|w))");

  /** The instant {@code value} names, relative ones counted back from {@code now}. */
  public static Instant instant(String param, String value, Instant now) {
    String v = value.strip();
    if (v.equals("now")) return now;
    Matcher rel = RELATIVE.matcher(v);
    if (rel.matches()) return now.minus(duration(param, rel.group(1)));
    try {
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException e) {
      throw ApiException.badParameter(
          param,
          param
              + " '"
              + value
              + "' is neither RFC 3339 (2026-11-24T10:00:00Z) nor relative (now, -6h, now-30m)");
    }
  }

  /** The duration {@code value} names, e.g. {@code 10s}. */
  public static Duration duration(String param, String value) {
    Matcher m = DURATION.matcher(value.strip());
    if (!m.matches()) {
      throw ApiException.badParameter(
          param, param + " '" + value + "' is not a duration such as 500ms, 10s, 5m, 1h, 1d or 1w");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      case "w" -> Duration.ofDays(7 * n);
      default -> throw new IllegalStateException("unit " + m.group(2));
    };
  }

  /** A duration the way {@link #duration} reads it back: {@code 90s} → "90s", 1 min → "1m". */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 604_800_000L == 0) return ms / 604_800_000L + "w";
    if (ms % 86_400_000L == 0) return ms / 86_400_000L + "d";
    if (ms % 3_600_000L == 0) return ms / 3_600_000L + "h";
    if (ms % 60_000L == 0) return ms / 60_000L + "m";
    if (ms % 1000L == 0) return ms / 1000L + "s";
    return ms + "ms";
  }
}

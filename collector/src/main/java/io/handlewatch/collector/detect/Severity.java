package io.handlewatch.collector.detect;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import java.util.Locale;

/**
 * How bad a verdict is, in increasing order: the one severity of verdicts, stored points, pages and
 * the API. {@link #OK} marks a verdict that just cleared (stored so graphs show the end), {@link
 * #INFO} a trend or finding that does not page; {@link #WARNING} and {@link #CRITICAL} page for the
 * paging kinds.
 */
public enum Severity {
  OK,
  INFO,
  WARNING,
  CRITICAL;

  /** The label, field value and JSON value: "ok", "info", "warning", "critical". */
  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean pages() {
    return this == WARNING || this == CRITICAL;
  }

  /**
   * The severities of a verdict in force, the ones the API shows: all but {@link #OK}, which only
   * ends a stored verdict.
   */
  public static List<Severity> inForce() {
    return List.of(INFO, WARNING, CRITICAL);
  }
}

package io.handlewatch.collector.detect;

import java.util.Locale;

/**
 * How bad a verdict is, in increasing order. {@link #OK} marks a verdict that just cleared (stored
 * so graphs show the end), {@link #INFO} a trend or finding that does not page; {@link #WARNING}
 * and {@link #CRITICAL} page for the paging kinds.
 */
public enum Severity {
  OK,
  INFO,
  WARNING,
  CRITICAL;

  /** The label and field value: "ok", "info", "warning", "critical". */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean pages() {
    return this == WARNING || this == CRITICAL;
  }
}

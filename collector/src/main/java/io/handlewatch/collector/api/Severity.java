package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How bad a verdict is, as the API shows it ({@code info}, {@code warning}, {@code critical}). */
public enum Severity {
  INFO,
  WARNING,
  CRITICAL;

  @JsonValue
  public String json() {
    return name().toLowerCase(Locale.ROOT);
  }
}

package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A host's status in the fleet, most at risk first: {@code critical} or {@code warning} from its
 * worst firing alert or worst verdict, whichever is worse (the page agrees with the pager: a host
 * with a firing alert is never {@code ok}), {@code stale} when it has not reported for several of
 * its intervals and nothing fires for it (shown, not dropped: a host that ran out of handles may
 * stop reporting), else {@code ok}.
 */
public enum HostStatus {
  CRITICAL,
  WARNING,
  STALE,
  OK;

  @JsonValue
  public String json() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static List<String> names() {
    return Arrays.stream(values()).map(HostStatus::json).toList();
  }

  /** The status named {@code s} ({@code ok}, {@code stale}, ...), or a 400 for {@code param}. */
  public static HostStatus parse(String param, String s) {
    for (HostStatus h : values()) if (h.json().equals(s.strip().toLowerCase(Locale.ROOT))) return h;
    throw ApiException.notOneOf(param, s, names());
  }
}

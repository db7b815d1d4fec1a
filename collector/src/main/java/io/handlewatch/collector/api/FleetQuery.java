package io.handlewatch.collector.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The fleet listing's {@code sort}, {@code order}, {@code status}, {@code q}, {@code limit} and
 * {@code offset}, parsed and checked, and applied to the hosts. Each sort key has the direction
 * that puts the most worrying hosts first; {@code order} reverses it; hosts without the value go
 * last either way, and ties go by host name.
 */
public record FleetQuery(
    Sort sort, boolean reversed, Set<HostStatus> statuses, String q, int limit, int offset) {

  /** What the fleet can be sorted by. */
  public enum Sort {
    /** Status (critical, warning, stale, ok), then nearest ETA, fd usage, CLOSE_WAIT. */
    RISK,
    /** Nearest ETA first. */
    ETA,
    /** Most CLOSE_WAIT first. */
    CLOSE_WAIT,
    /** Most TIME_WAIT first. */
    TIME_WAIT,
    /** Highest fd usage first. */
    FD_USED,
    /** Longest silent first. */
    LAST_SEEN,
    /** By name. */
    HOST;

    String json() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public static List<String> sortNames() {
    return EnumSet.allOf(Sort.class).stream().map(Sort::json).toList();
  }

  public static final int DEFAULT_LIMIT = 100;

  /** Parses the query parameters (null when absent); a bad one is a 400 naming it. */
  public static FleetQuery parse(
      String sort,
      String order,
      List<String> status,
      String q,
      String limit,
      String offset,
      int maxLimit) {
    Sort s = Sort.RISK;
    if (sort != null && !sort.isBlank()) {
      s = null;
      for (Sort k : Sort.values()) if (k.json().equals(sort.strip())) s = k;
      if (s == null) throw ApiException.notOneOf("sort", sort, sortNames());
    }
    boolean reversed = false;
    if (order != null && !order.isBlank()) {
      String o = order.strip();
      if (!o.equals("asc") && !o.equals("desc")) {
        throw ApiException.notOneOf("order", order, List.of("asc", "desc"));
      }
      reversed = !o.equals(naturalOrder(s));
    }
    Set<HostStatus> statuses = EnumSet.noneOf(HostStatus.class);
    for (String st : status == null ? List.<String>of() : status) {
      for (String one : st.split(",")) {
        if (!one.isBlank()) statuses.add(HostStatus.parse("status", one));
      }
    }
    int l = integer("limit", limit, DEFAULT_LIMIT, 1, maxLimit);
    int o = integer("offset", offset, 0, 0, Integer.MAX_VALUE);
    return new FleetQuery(s, reversed, statuses, q == null ? "" : q.strip(), l, o);
  }

  /** The direction {@code sort} lists by when no {@code order} is given. */
  static String naturalOrder(Sort s) {
    return switch (s) {
      case RISK, ETA, HOST -> "asc";
      case CLOSE_WAIT, TIME_WAIT, FD_USED, LAST_SEEN -> "desc";
    };
  }

  private static int integer(String param, String value, int dflt, int min, int max) {
    if (value == null || value.isBlank()) return dflt;
    int v;
    try {
      v = Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw ApiException.badParameter(param, param + " '" + value + "' is not a whole number");
    }
    if (v < min || v > max) {
      throw ApiException.badParameter(
          param, param + " " + v + " is out of range: " + min + " to " + max);
    }
    return v;
  }

  /** Filters, sorts and pages {@code hosts}. */
  public Fleet apply(List<HostSummary> hosts) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (String st : HostStatus.names()) counts.put(st, 0);
    for (HostSummary h : hosts) counts.merge(h.status().json(), 1, Integer::sum);

    String needle = q.toLowerCase(Locale.ROOT);
    List<HostSummary> kept = new ArrayList<>();
    for (HostSummary h : hosts) {
      if (!statuses.isEmpty() && !statuses.contains(h.status())) continue;
      if (!needle.isEmpty() && !h.host().toLowerCase(Locale.ROOT).contains(needle)) continue;
      kept.add(h);
    }
    kept.sort(comparator());
    int from = Math.min(offset, kept.size());
    int to = Math.min(kept.size(), from + limit);
    return new Fleet(
        kept.size(),
        offset,
        limit,
        to < kept.size() ? to : null,
        sort.json(),
        reversed ? (naturalOrder(sort).equals("asc") ? "desc" : "asc") : naturalOrder(sort),
        counts,
        List.copyOf(kept.subList(from, to)));
  }

  private Comparator<HostSummary> comparator() {
    Comparator<HostSummary> byHost = Comparator.comparing(HostSummary::host);
    Comparator<HostSummary> key =
        switch (sort) {
          case RISK ->
              Comparator.comparing(HostSummary::status)
                  .thenComparing(ascending(FleetQuery::eta))
                  .thenComparing(descending(HostSummary::fdUsedPercent))
                  .thenComparing(descending(HostSummary::closeWait));
          case ETA -> ascending(FleetQuery::eta);
          case CLOSE_WAIT -> descending(HostSummary::closeWait);
          case TIME_WAIT -> descending(HostSummary::timeWait);
          case FD_USED -> descending(HostSummary::fdUsedPercent);
          case LAST_SEEN -> descending(HostSummary::ageSeconds);
          case HOST -> byHost;
        };
    if (reversed) key = reverseKeepingNullsLast(key);
    return key.thenComparing(byHost);
  }

  private static Double eta(HostSummary h) {
    return h.worstEta() == null ? null : h.worstEta().etaSeconds();
  }

  private static <T extends Comparable<T>> Comparator<HostSummary> ascending(
      Function<HostSummary, T> f) {
    return Comparator.comparing(f, Comparator.nullsLast(Comparator.naturalOrder()));
  }

  private static <T extends Comparable<T>> Comparator<HostSummary> descending(
      Function<HostSummary, T> f) {
    return Comparator.comparing(f, Comparator.nullsLast(Comparator.reverseOrder()));
  }

  /**
   * Reverses a key, except that hosts lacking the value stay last: compares as reversed, but a pair
   * whose order came from a missing value keeps it.
   */
  private Comparator<HostSummary> reverseKeepingNullsLast(Comparator<HostSummary> key) {
    return (a, b) -> {
      boolean aMissing = missing(a);
      boolean bMissing = missing(b);
      if (aMissing != bMissing) return aMissing ? 1 : -1;
      return key.compare(b, a);
    };
  }

  private boolean missing(HostSummary h) {
    return switch (sort) {
      case ETA -> h.worstEta() == null;
      case CLOSE_WAIT -> h.closeWait() == null;
      case TIME_WAIT -> h.timeWait() == null;
      case FD_USED -> h.fdUsedPercent() == null;
      case RISK, LAST_SEEN, HOST -> false;
    };
  }
}

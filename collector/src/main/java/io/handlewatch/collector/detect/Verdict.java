package io.handlewatch.collector.detect;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One judgement about one subject of one host at one moment, with its evidence.
 *
 * @param host the host
 * @param kind what it is about
 * @param subject the host name, a process as {@code comm[pid]}, a remote endpoint {@code ip:port},
 *     or a sysctl name: the {@code subject} tag of the {@code verdict} measurement
 * @param severity how bad
 * @param at the sample time it was decided on
 * @param window how far back the evidence reaches (the trend's span, at most the window)
 * @param slopePerMin the robust trend in units per minute; null when no trend applies
 * @param value the current value (fds, sockets, ports; for a sysctl finding its numeric value or
 *     NaN)
 * @param limit what the value runs into (soft limit, file-max, port range, tw buckets); null when
 *     none applies
 * @param eta time until the value reaches the limit at the current trend; null without a growing
 *     trend
 * @param since when the growth began (the trend's onset); null without one
 * @param labels Alertmanager labels beyond alertname/host/severity: {@code pid}, {@code comm},
 *     {@code remote} where they apply
 * @param summary one line for a pager
 * @param description the evidence in sentences
 * @param dedupKey one key per (host, kind, subject), and per process lifetime for processes
 */
public record Verdict(
    String host,
    Kind kind,
    String subject,
    Severity severity,
    Instant at,
    Duration window,
    Double slopePerMin,
    double value,
    Double limit,
    Duration eta,
    Instant since,
    Map<String, String> labels,
    String summary,
    String description,
    String dedupKey) {
  public Verdict {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(at, "at");
    labels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    Objects.requireNonNull(summary, "summary");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(dedupKey, "dedupKey");
  }

  /** The same verdict at another severity (an INFO trend folded, an escalation held). */
  public Verdict withSeverity(Severity s) {
    return new Verdict(
        host,
        kind,
        subject,
        s,
        at,
        window,
        slopePerMin,
        value,
        limit,
        eta,
        since,
        labels,
        summary,
        description,
        dedupKey);
  }
}

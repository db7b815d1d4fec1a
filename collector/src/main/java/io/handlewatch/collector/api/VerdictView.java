package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.detect.Severity;
import java.time.Instant;
import java.util.Objects;

/**
 * One verdict with its evidence, as the API shows it (the {@code verdict} measurement's tags and
 * fields, docs/storage-schema.md, plus the window and since when).
 *
 * @param host the host it is about
 * @param kind what is judged: {@code process_fds}, {@code system_fds}, {@code close_wait}, {@code
 *     port_pressure} or {@code time_wait_buckets} (the anchor of its section in RUNBOOK.md)
 * @param subject what within the host: the host name, a process ({@code java[4121]}) or a remote
 *     endpoint ({@code 10.0.0.5:5432})
 * @param severity how bad
 * @param etaSeconds estimated seconds until {@code limit} is reached; null when not heading there
 * @param slopePerMin the trend over the window, per minute
 * @param value the current value
 * @param limit the limit it is measured against; null when there is none (CLOSE_WAIT growth)
 * @param windowSeconds the window the trend was fitted over
 * @param since when this verdict first held
 * @param at when it was last evaluated
 * @param summary one line for people, e.g. "db-17: java[4121] has 61,000 fds open of its soft limit
 *     65,536 (93.1%), +12/min: exhausted in about 6 min"
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VerdictView(
    String host,
    String kind,
    String subject,
    Severity severity,
    Double etaSeconds,
    Double slopePerMin,
    Double value,
    Double limit,
    Long windowSeconds,
    @JsonFormat(shape = JsonFormat.Shape.STRING) Instant since,
    @JsonFormat(shape = JsonFormat.Shape.STRING) Instant at,
    String summary) {
  public VerdictView {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(severity, "severity");
  }
}

package io.handlewatch.collector.detect;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One alert transition as the detector decides it: an incident starting (or still) {@link
 * Status#FIRING}, {@link Status#RESOLVED} after its quiet period, or {@link Status#RELEASED} when
 * its host stopped reporting here. Every notifier (Alertmanager, the webhook) and {@code replay}
 * consume exactly this; nothing downstream re-derives it.
 *
 * <p>Only transitions are emitted: one FIRING when an incident starts, one RESOLVED when it ends;
 * re-sending while firing is the notifier's job. Escalation from warning to critical arrives as
 * RESOLVED (the warning's labels) immediately followed by FIRING (the critical labels) with the
 * same dedupKey, because Alertmanager identifies an alert by its label set; severity never drops
 * within an incident. Beyond summary, description and runbook_url, annotations carry the evidence
 * as plain values for templates: value, limit, slope_per_min, eta_seconds, since, window (each
 * where it applies).
 *
 * @param status firing or resolved
 * @param dedupKey one key per (host, kind, subject), stable for the incident's lifetime: the
 *     webhook's PagerDuty {@code dedup_key}, and what the collector's books are keyed by
 * @param labels Alertmanager labels: {@code alertname}, {@code host}, {@code severity}, and {@code
 *     pid}/{@code comm}/{@code remote} where they apply
 * @param annotations {@code summary}, {@code description} (with the evidence and ETA) and {@code
 *     runbook_url}
 * @param startsAt when the incident began firing
 * @param endsAt when it resolved; null while firing or released
 * @param at when this transition was decided (the trace's clock in replay)
 */
public record Alert(
    Status status,
    String dedupKey,
    Map<String, String> labels,
    Map<String, String> annotations,
    Instant startsAt,
    Instant endsAt,
    Instant at) {

  /** Whether an incident is under way or over, or no longer this collector's to tell. */
  public enum Status {
    FIRING,
    RESOLVED,
    /**
     * The host has sent nothing here for {@code detection.releaseAfter}: it moved to another
     * collector behind the same address (which takes the incident over from the store), or it died.
     * The incident is neither resolved nor re-sent any more: receivers are told nothing, and
     * Alertmanager ends the alert at its {@code endsAt} unless another collector keeps sending it.
     */
    RELEASED
  }

  public Alert {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(dedupKey, "dedupKey");
    labels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    annotations = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(annotations));
    Objects.requireNonNull(startsAt, "startsAt");
    Objects.requireNonNull(at, "at");
    if (status == Status.RESOLVED) Objects.requireNonNull(endsAt, "endsAt of a resolved alert");
  }

  public String host() {
    return labels.get("host");
  }
}

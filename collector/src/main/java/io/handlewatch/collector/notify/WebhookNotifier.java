package io.handlewatch.collector.notify;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.handlewatch.collector.detect.Alert;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pages without an Alertmanager: one JSON event per alert transition, in the shape of the PagerDuty
 * Events API v2 ({@code POST https://events.pagerduty.com/v2/enqueue} takes it as is; any other
 * receiver gets a documented, stable body). A firing alert is a {@code trigger}, a resolved one a
 * {@code resolve}, both with the alert's dedup key (one per host, kind and subject) as {@code
 * dedup_key}, so the receiver opens one incident and closes that same one.
 */
public final class WebhookNotifier extends HttpNotifier {
  /** PagerDuty truncates a longer summary; we do it ourselves so the cut is visible. */
  static final int MAX_SUMMARY = 1024;

  private static final Set<String> PROSE_ANNOTATIONS =
      Set.of("summary", "description", "runbook_url");

  private final String routingKey;

  /**
   * @param routingKey PagerDuty's integration key; null for a receiver that needs none
   * @param headers sent with every request, e.g. {@code Authorization}
   */
  public WebhookNotifier(
      String name, String url, String routingKey, Duration timeout, Map<String, String> headers) {
    super(name, new JsonPoster(URI.create(url), timeout, headers));
    this.routingKey = routingKey;
  }

  /** The Events API takes one event per request. */
  @Override
  public int maxBatchSize() {
    return 1;
  }

  /** A PagerDuty Events API v2 event. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Event(
      @JsonProperty("routing_key") String routingKey,
      @JsonProperty("event_action") String eventAction,
      @JsonProperty("dedup_key") String dedupKey,
      @JsonProperty("payload") Payload payload,
      @JsonProperty("links") List<Link> links,
      @JsonProperty("client") String client) {}

  /** What the incident says: PagerDuty's Common Event Format fields. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Payload(
      @JsonProperty("summary") String summary,
      @JsonProperty("source") String source,
      @JsonProperty("severity") String severity,
      @JsonProperty("timestamp") String timestamp,
      @JsonProperty("component") String component,
      @JsonProperty("group") String group,
      @JsonProperty("class") String eventClass,
      @JsonProperty("custom_details") Map<String, Object> customDetails) {}

  record Link(@JsonProperty("href") String href, @JsonProperty("text") String text) {}

  @Override
  public void send(List<Alert> alerts) throws NotifyException, InterruptedException {
    for (Alert a : alerts) poster.post(event(a));
  }

  Event event(Alert a) {
    Map<String, String> labels = a.labels();
    Map<String, String> annotations = a.annotations();
    String alertname = labels.getOrDefault("alertname", "handlewatch");
    String summary = annotations.get("summary");
    if (summary == null || summary.isBlank())
      summary = alertname + " on " + (a.host() == null ? "unknown host" : a.host());
    if (summary.length() > MAX_SUMMARY) summary = summary.substring(0, MAX_SUMMARY - 3) + "...";

    Map<String, Object> details = new LinkedHashMap<>();
    String description = annotations.get("description");
    if (description != null) details.put("description", description);
    // The detector's evidence travels as plain annotations (value, limit, slope_per_min,
    // eta_seconds, since, window): everything but the three prose ones.
    Map<String, String> evidence = new TreeMap<>(annotations);
    evidence.keySet().removeAll(PROSE_ANNOTATIONS);
    if (!evidence.isEmpty()) details.put("evidence", evidence);
    details.put("labels", labels);
    details.put("annotations", annotations);
    details.put("starts_at", a.startsAt().toString());
    if (a.endsAt() != null) details.put("ends_at", a.endsAt().toString());

    // Sent with the resolve too: PagerDuty ignores it there, other receivers can show it.
    Payload payload =
        new Payload(
            summary,
            a.host() == null ? "handlewatch" : a.host(),
            severity(labels.get("severity")),
            a.at().toString(),
            component(labels),
            labels.get("remote"),
            alertname,
            details);
    String runbook = annotations.get("runbook_url");
    return new Event(
        routingKey,
        a.status() == Alert.Status.FIRING ? "trigger" : "resolve",
        a.dedupKey(),
        payload,
        runbook == null || runbook.isBlank() ? null : List.of(new Link(runbook, "Runbook")),
        "handlewatch");
  }

  /**
   * The process as the verdicts name it, {@code comm[pid]}: the comm alone does not tell an on-call
   * which of a host's java processes leaks.
   */
  static String component(Map<String, String> labels) {
    String comm = labels.get("comm");
    String pid = labels.get("pid");
    if (comm == null || pid == null) return comm;
    return comm + "[" + pid + "]";
  }

  /**
   * Our severities (critical, warning, info) are PagerDuty's names too; PagerDuty also has {@code
   * error}, which is what an unknown or missing severity becomes, so it still pages.
   */
  static String severity(String ours) {
    if (ours == null) return "error";
    return switch (ours) {
      case "critical", "error", "warning", "info" -> ours;
      default -> "error";
    };
  }
}

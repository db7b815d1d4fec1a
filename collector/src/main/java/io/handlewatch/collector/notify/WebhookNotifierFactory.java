package io.handlewatch.collector.notify;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * {@code notifiers: [{type: webhook, url: ...}]}: one JSON event per alert transition, in the
 * PagerDuty Events API v2 shape (see {@link WebhookNotifier}); PagerDuty's own endpoint takes it
 * with {@code routingKey} set to the integration key.
 *
 * <p>Each transition is sent once (then retried until it is accepted); {@code resendInterval} (off
 * by default) re-sends triggers while they fire. PagerDuty dedups those by {@code dedup_key}, so it
 * only costs requests; but once someone resolves the incident by hand in PagerDuty, a re-sent
 * trigger opens it again, which is why it is off.
 */
@JsonTypeName("webhook")
public class WebhookNotifierFactory extends NotifierFactory {
  @NotNull
  @Pattern(regexp = "https?://[^/?#]+.*", message = "must be an http:// or https:// URL")
  @JsonProperty
  public String url;

  /** PagerDuty's integration key ({@code routing_key}); leave out for other receivers. */
  @JsonProperty public String routingKey;

  /** Sent with every request, e.g. {@code Authorization: Bearer ...}. */
  @NotNull @JsonProperty
  public Map<
          // An HTTP token, and none that the JDK's HTTP client sets itself and refuses to take.
          @Pattern(
              regexp =
                  "(?i)(?!(connection|content-length|expect|host|upgrade)$)[!#$%&'*+.^_`|~0-9a-z-]+",
              message =
                  "must be an HTTP header name other than Connection, Content-Length, Expect,"
                      + " Host, Upgrade")
          String,
          @NotNull @Pattern(regexp = "[^\\r\\n]*", message = "must be a single line") String>
      headers = Map.of();

  /** 0s (the default): each trigger once; otherwise how often triggers are re-sent. */
  @NotNull @JsonProperty public Duration resendInterval = Duration.seconds(0);

  @JsonIgnore
  @AssertTrue(message = "must be 0s (off) or at least 1s")
  public boolean isResendInterval() {
    return resendInterval == null
        || resendInterval.toNanoseconds() == 0
        || resendInterval.toNanoseconds() >= 1_000_000_000L;
  }

  @Override
  public List<Destination> build(Clock clock) {
    String n = name != null ? name : nameFor("webhook", url);
    String key = routingKey == null || routingKey.isBlank() ? null : routingKey.strip();
    return List.of(
        new Destination(
            new WebhookNotifier(n, url, key, requestTimeout(), headers), policy(resendInterval)));
  }
}

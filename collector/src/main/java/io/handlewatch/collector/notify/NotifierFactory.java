package io.handlewatch.collector.notify;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dropwizard.jackson.Discoverable;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One entry of the {@code notifiers:} list: its {@code type} key picks the kind ({@code
 * alertmanager} or {@code webhook}); each kind declares its own settings in its factory. The
 * settings every kind has are here.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public abstract class NotifierFactory implements Discoverable {

  /** Names the notifier in logs, metrics ({@code notify.<name>.*}) and health checks. */
  @Pattern(regexp = "[A-Za-z0-9_.-]+", message = "must be letters, digits, '_', '.' or '-'")
  @JsonProperty
  public String name;

  /** How long one request may take, connecting included. */
  @NotNull
  @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS)
  @JsonProperty
  public Duration timeout = Duration.seconds(10);

  /** The first wait after a failed attempt; it doubles, with jitter, up to retryMaxDelay. */
  @NotNull
  @MinDuration(value = 10, unit = TimeUnit.MILLISECONDS)
  @JsonProperty
  public Duration retryInitialDelay = Duration.seconds(1);

  /** The longest wait between two attempts; attempts go on until the receiver answers. */
  @NotNull @JsonProperty public Duration retryMaxDelay = Duration.minutes(1);

  // A getter named after the key it checks (ignored by Jackson): the error reads
  // "notifiers[N].retryMaxDelay must ...", where @ValidationMethod would lose the path.
  @JsonIgnore
  @AssertTrue(message = "must be longer than retryInitialDelay")
  public boolean isRetryMaxDelay() {
    return retryMaxDelay == null
        || retryInitialDelay == null
        || retryMaxDelay.toNanoseconds() > retryInitialDelay.toNanoseconds();
  }

  /**
   * Hands over the collector's top-level {@code externalUrl}, before {@link #build}: a kind that
   * links back to the collector uses it unless its own settings say otherwise. Most kinds ignore it
   * (the webhook's links come from the alert's own {@code runbook_url}).
   */
  public void defaultExternalUrl(String collectorUrl) {}

  /** Builds one destination per receiver (an Alertmanager cluster: one per member). */
  public abstract List<Destination> build(Clock clock);

  protected DeliveryPolicy policy(Duration resendInterval) {
    return new DeliveryPolicy(
        java.time.Duration.ofNanos(resendInterval.toNanoseconds()),
        java.time.Duration.ofNanos(retryInitialDelay.toNanoseconds()),
        java.time.Duration.ofNanos(retryMaxDelay.toNanoseconds()));
  }

  protected java.time.Duration requestTimeout() {
    return java.time.Duration.ofNanos(timeout.toNanoseconds());
  }

  /** {@code base[host:port/path]}: which receiver, readable in a metric name. */
  protected static String nameFor(String base, String url) {
    URI u = URI.create(url);
    String path = u.getRawPath() == null ? "" : u.getRawPath().replaceAll("/+$", "");
    return base + "[" + u.getRawAuthority() + path + "]";
  }
}

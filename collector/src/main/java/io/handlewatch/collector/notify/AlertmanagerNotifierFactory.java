package io.handlewatch.collector.notify;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code notifiers: [{type: alertmanager, urls: [...]}]}: alerts go to Prometheus Alertmanager's v2
 * API. List every member of an Alertmanager cluster (not a load balancer in front of them): each
 * gets every alert and the cluster dedups the notifications, as with Prometheus.
 */
@JsonTypeName("alertmanager")
public class AlertmanagerNotifierFactory extends NotifierFactory {

  /** Base URLs, with the route prefix if Alertmanager runs under one. */
  @NotEmpty @JsonProperty
  public List<
          @NotNull
          @Pattern(regexp = "https?://[^/?#]+.*", message = "must be an http:// or https:// URL")
          String>
      urls = List.of();

  /**
   * How often firing alerts are sent again (Prometheus: {@code --rules.alert.resend-delay}, 1m).
   * Each carries an endsAt four intervals ahead, so Alertmanager resolves it by itself if the
   * collector stops sending.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration resendInterval = Duration.minutes(1);

  /**
   * The collector's URL as users reach it: each alert's {@code generatorURL} opens its host's view
   * on the fleet page there. Unset, the collector's own top-level {@code externalUrl}.
   */
  @Pattern(regexp = "https?://.+", message = "must be an http:// or https:// URL")
  @JsonProperty
  public String externalUrl;

  @Valid @JsonProperty public BasicAuth basicAuth;

  @JsonProperty public String bearerToken;

  /** HTTP basic authentication (e.g. an Alertmanager behind a proxy, or its web config). */
  public static class BasicAuth {
    @NotEmpty @JsonProperty public String username;
    @NotNull @JsonProperty public String password;
  }

  @JsonIgnore
  @AssertTrue(message = "cannot be set together with bearerToken")
  public boolean isBasicAuth() {
    return basicAuth == null || bearerToken == null || bearerToken.isBlank();
  }

  @JsonIgnore
  @AssertTrue(message = "must not list the same Alertmanager twice")
  public boolean isUrls() {
    return urls == null || new LinkedHashSet<>(urls).size() == urls.size();
  }

  @Override
  public void defaultExternalUrl(String collectorUrl) {
    if (externalUrl == null || externalUrl.isBlank()) externalUrl = collectorUrl;
  }

  @Override
  public List<Destination> build(Clock clock) {
    Map<String, String> headers = new HashMap<>();
    if (basicAuth != null) {
      String pair = basicAuth.username + ":" + basicAuth.password;
      headers.put(
          "Authorization",
          "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
    } else if (bearerToken != null && !bearerToken.isBlank()) {
      headers.put("Authorization", "Bearer " + bearerToken.strip());
    }
    DeliveryPolicy policy = policy(resendInterval);
    List<Destination> out = new ArrayList<>();
    for (String url : urls) {
      Notifier n =
          new AlertmanagerNotifier(
              nameFor(name == null ? "alertmanager" : name, url),
              url,
              requestTimeout(),
              headers,
              policy.resendInterval(),
              externalUrl,
              clock);
      out.add(new Destination(n, policy));
    }
    return out;
  }
}

package io.handlewatch.collector.notify;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.Kind;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Sends alerts to one Prometheus Alertmanager through its v2 API: {@code POST /api/v2/alerts} with
 * a JSON array of postable alerts ({@code labels}, {@code annotations}, {@code startsAt}, {@code
 * endsAt}, {@code generatorURL}). An Alertmanager cluster gets one of these per member, as
 * Prometheus sends to every member and lets the cluster dedup the notifications.
 *
 * <p>Like Prometheus, a firing alert carries an {@code endsAt} a few re-send intervals ahead
 * ({@value #ENDS_AT_RESENDS} of them): as long as re-sends arrive it stays firing, and if the
 * collector vanishes Alertmanager resolves it by itself instead of paging forever. A resolved alert
 * carries the time it resolved.
 *
 * <p>Alertmanager identifies an alert by its label set, the collector by its dedup key. When the
 * labels of an incident change while it fires (its severity escalates from warning to critical),
 * the old label set would otherwise stay firing in Alertmanager until its {@code endsAt}; this
 * notifier resolves it in the same request that sends the new one.
 */
public final class AlertmanagerNotifier extends HttpNotifier {
  /** Prometheus sets endsAt to 4 re-send intervals ahead: it survives two lost sends and more. */
  static final int ENDS_AT_RESENDS = 4;

  static final String ALERTS_PATH = "/api/v2/alerts";

  private final Duration resendInterval;
  private final String externalUrl;
  private final URI activeUri;
  private final Clock clock;

  /** What this Alertmanager last accepted as firing, per dedup key. */
  private final Map<String, Alert> firingSent = new HashMap<>();

  /**
   * @param baseUrl the Alertmanager's base URL (with its route prefix, if any)
   * @param headers e.g. {@code Authorization}
   * @param resendInterval how often the dispatcher re-sends firing alerts; endsAt is set from it
   * @param externalUrl the collector's URL as users reach it, for {@code generatorURL}; may be null
   */
  public AlertmanagerNotifier(
      String name,
      String baseUrl,
      Duration timeout,
      Map<String, String> headers,
      Duration resendInterval,
      String externalUrl,
      Clock clock) {
    super(
        name,
        new JsonPoster(URI.create(baseUrl.replaceAll("/+$", "") + ALERTS_PATH), timeout, headers));
    this.resendInterval = resendInterval;
    this.externalUrl = externalUrl == null ? null : externalUrl.replaceAll("/+$", "");
    this.activeUri = URI.create(poster.uri() + "?" + ACTIVE_FILTER);
    this.clock = clock;
  }

  /**
   * The query of {@link #active}: Alertmanager's v2 API ANDs the {@code filter} matchers, each in
   * its label matcher syntax; an alert whose endsAt has passed (resolved) is never listed. Ours:
   * one of the product's alertnames, with a host and a paging severity, as every alert it sends
   * has. Silenced and inhibited alerts are listed too (the API's default): they fire all the same.
   */
  static final String ACTIVE_FILTER =
      Stream.of(
              "alertname=~\""
                  + Stream.of(Kind.values())
                      .filter(Kind::pages)
                      .map(Kind::alertname)
                      .sorted()
                      .collect(Collectors.joining("|"))
                  + "\"",
              "host=~\".+\"",
              "severity=~\"warning|critical\"")
          .map(m -> "filter=" + URLEncoder.encode(m, StandardCharsets.UTF_8))
          .collect(Collectors.joining("&"));

  /**
   * An alert of this product that Alertmanager shows firing, as it was last sent (by this collector
   * before a restart, or by another one), and until when it stays firing without a re-send.
   */
  public record Active(Alert alert, Instant endsAt) {}

  /**
   * Asks this Alertmanager which of the product's alerts fire now ({@code GET /api/v2/alerts},
   * filtered as {@link #ACTIVE_FILTER} says). Each comes back as a FIRING {@link Alert} with its
   * labels, annotations and startsAt exactly as Alertmanager holds them, under a dedup key of its
   * own ({@value #ACTIVE_KEY_PREFIX} and its labels), since Alertmanager does not know the
   * collector's. Thread-safe (no state of the sender's is touched).
   *
   * @throws NotifyException unreachable, or an answer that is not a list of alerts
   */
  public List<Active> active() throws NotifyException, InterruptedException {
    JsonNode list = poster.getJson(activeUri);
    Instant now = clock.instant();
    if (list == null || !list.isArray()) {
      throw new NotifyException(
          NotifyException.Kind.REJECTED, 0, null, activeUri + " answered no list of alerts", null);
    }
    List<Active> out = new ArrayList<>();
    for (JsonNode a : list) {
      try {
        Map<String, String> labels = strings(a.path("labels"));
        Instant startsAt = Instant.parse(a.path("startsAt").asText());
        Instant endsAt = Instant.parse(a.path("endsAt").asText());
        out.add(
            new Active(
                new Alert(
                    Alert.Status.FIRING,
                    ACTIVE_KEY_PREFIX + new TreeMap<>(labels),
                    labels,
                    strings(a.path("annotations")),
                    startsAt,
                    null,
                    now),
                endsAt));
      } catch (RuntimeException e) {
        throw new NotifyException(
            NotifyException.Kind.REJECTED,
            0,
            null,
            activeUri + " answered an alert that cannot be read (" + e + "): " + a,
            e);
      }
    }
    return out;
  }

  /** Dedup keys of the alerts {@link #active} lists start with this. */
  public static final String ACTIVE_KEY_PREFIX = "alertmanager:";

  private static Map<String, String> strings(JsonNode object) {
    Map<String, String> m = new HashMap<>();
    object.properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  /** Alertmanager ends a firing alert by its endsAt unless it is sent again. */
  @Override
  public boolean expires() {
    return true;
  }

  @Override
  public int maxBatchSize() {
    return 64;
  }

  /** One element of the {@code postableAlerts} array of Alertmanager's v2 OpenAPI spec. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record PostableAlert(
      @JsonProperty("labels") Map<String, String> labels,
      @JsonProperty("annotations") Map<String, String> annotations,
      @JsonProperty("startsAt") String startsAt,
      @JsonProperty("endsAt") String endsAt,
      @JsonProperty("generatorURL") String generatorURL) {}

  @Override
  public void send(List<Alert> alerts) throws NotifyException, InterruptedException {
    Instant now = clock.instant();
    List<PostableAlert> body = new ArrayList<>(alerts.size() + 1);
    for (Alert a : alerts) {
      Alert before = firingSent.get(a.dedupKey());
      if (before != null && !before.labels().equals(a.labels())) {
        body.add(postable(before, now)); // the superseded label set, resolved as of now
      }
      Instant endsAt =
          a.status() == Alert.Status.RESOLVED
              ? a.endsAt()
              : now.plus(resendInterval.multipliedBy(ENDS_AT_RESENDS));
      body.add(postable(a, endsAt));
    }
    poster.post(body);
    for (Alert a : alerts) {
      if (a.status() == Alert.Status.FIRING) firingSent.put(a.dedupKey(), a);
      else firingSent.remove(a.dedupKey());
    }
  }

  /**
   * Forgets the incident's label set: were it kept, a later incident under the same key with other
   * labels would resolve it here while the collector that gained the host keeps it firing.
   */
  @Override
  public void released(Alert alert) {
    firingSent.remove(alert.dedupKey());
  }

  private PostableAlert postable(Alert a, Instant endsAt) {
    return new PostableAlert(
        a.labels(), a.annotations(), a.startsAt().toString(), endsAt.toString(), generatorUrl(a));
  }

  private String generatorUrl(Alert a) {
    if (externalUrl == null || a.host() == null) return null;
    return hostView(externalUrl, a.host());
  }

  /**
   * The fleet page's view of {@code host} under {@code externalUrl}: the page routes on its
   * fragment ({@code #/host/NAME}, the name as JavaScript's encodeURIComponent writes it, which the
   * page decodes), so the link opens the host's view straight away.
   */
  public static String hostView(String externalUrl, String host) {
    String name =
        URLEncoder.encode(host, StandardCharsets.UTF_8)
            .replace("+", "%20")
            .replace("%21", "!")
            .replace("%27", "'")
            .replace("%28", "(")
            .replace("%29", ")")
            .replace("%7E", "~");
    return externalUrl.replaceAll("/+$", "") + "/#/host/" + name;
  }
}

package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.detect.Alert;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * An alert as the API shows it: the detector's {@link Alert}, with its most used labels lifted out.
 *
 * @param status firing or resolved
 * @param dedupKey one key per (host, kind, subject)
 * @param alertname the alert's name label
 * @param host the host label
 * @param severity the severity label
 * @param summary the summary annotation
 * @param labels every label
 * @param annotations every annotation
 * @param startsAt when the incident began firing
 * @param endsAt when it resolved; absent while firing
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AlertView(
    String status,
    String dedupKey,
    String alertname,
    String host,
    String severity,
    String summary,
    Map<String, String> labels,
    Map<String, String> annotations,
    @JsonFormat(shape = JsonFormat.Shape.STRING) Instant startsAt,
    @JsonFormat(shape = JsonFormat.Shape.STRING) Instant endsAt) {

  public static AlertView of(Alert a) {
    return new AlertView(
        a.status().name().toLowerCase(Locale.ROOT),
        a.dedupKey(),
        a.labels().get("alertname"),
        a.host(),
        a.labels().get("severity"),
        a.annotations().get("summary"),
        a.labels(),
        a.annotations(),
        a.startsAt(),
        a.endsAt());
  }
}

package io.handlewatch.collector;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.TagValues;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each alert transition as a point of measurement {@code alert} (tags host, alertname; fields
 * status, severity, summary), which the Grafana host dashboard shows as annotations: when a page
 * started, escalated, resolved or was released. It only hands the point to the store (whose writes
 * are asynchronous), so the detector thread never waits on it.
 */
public final class AlertAnnotations implements Consumer<Alert> {
  private static final Logger log = LoggerFactory.getLogger(AlertAnnotations.class);

  private final SampleStore store;

  AlertAnnotations(SampleStore store) {
    this.store = store;
  }

  /** The point of one transition. */
  public static StoredPoint point(Alert a) {
    TreeMap<String, String> tags = new TreeMap<>();
    tags.put("host", TagValues.safe(a.host()));
    tags.put("alertname", TagValues.safe(a.labels().get("alertname")));
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("status", a.status().name().toLowerCase(Locale.ROOT));
    fields.put("severity", a.labels().getOrDefault("severity", ""));
    fields.put("summary", a.annotations().getOrDefault("summary", a.dedupKey()));
    return new StoredPoint("alert", tags, fields, a.at());
  }

  @Override
  public void accept(Alert a) {
    store
        .writePoints(List.of(point(a)))
        .whenComplete(
            (outcome, e) -> {
              if (e != null) {
                log.warn(
                    "alert annotation not stored: host={} alert={} status={}: {}",
                    a.host(),
                    a.labels().get("alertname"),
                    a.status(),
                    e.toString());
              }
            });
  }
}

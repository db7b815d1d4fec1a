package io.handlewatch.collector.detect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.store.StoredPoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The open incidents of a host as the store shows them, so that a collector that gains the host
 * takes them over instead of opening new ones (a new startsAt, perhaps other labels: a second
 * page). Every paging {@code verdict} point carries, in its {@value #FIELD} field, the incident it
 * keeps firing: dedup key, labels exactly as sent, and startsAt, as JSON. An incident is open when
 * such a point is younger than the quiet period, as the collector that wrote it would judge.
 */
final class StoredIncidents {
  /** The {@code verdict} measurement's field naming the incident a paging verdict keeps firing. */
  static final String FIELD = "alert";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

  /** What {@link #open} made of the points, and what it had to skip. */
  record Found(List<AlertBook.Inherited> incidents, int unreadable) {}

  private StoredIncidents() {}

  /** The field's value for a verdict that keeps {@code firing} open. */
  static String encode(Alert firing) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("key", firing.dedupKey());
    m.put("startsAt", firing.startsAt().toString());
    m.put("labels", firing.labels());
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("alert labels not serializable: " + firing, e);
    }
  }

  /**
   * The incidents open as of {@code at}: for each dedup key, the newest verdict point that carries
   * one, if it is younger than {@code quiet}. Points of other measurements, and fields that do not
   * parse (counted in {@link Found#unreadable}), are skipped.
   */
  static Found open(List<StoredPoint> points, Instant at, Duration quiet) {
    Map<String, AlertBook.Inherited> newest = new HashMap<>();
    int unreadable = 0;
    for (StoredPoint p : points) {
      if (!p.measurement().equals("verdict") || !(p.fields().get(FIELD) instanceof String text)) {
        continue;
      }
      AlertBook.Inherited h = decode(text, p.time());
      if (h == null) {
        unreadable++;
        continue;
      }
      AlertBook.Inherited before = newest.get(h.dedupKey());
      if (before == null || before.lastActive().isBefore(h.lastActive())) {
        newest.put(h.dedupKey(), h);
      }
    }
    List<AlertBook.Inherited> open = new ArrayList<>();
    for (AlertBook.Inherited h : newest.values()) {
      if (Duration.between(h.lastActive(), at).compareTo(quiet) < 0) open.add(h);
    }
    open.sort(java.util.Comparator.comparing(AlertBook.Inherited::dedupKey));
    return new Found(open, unreadable);
  }

  private static AlertBook.Inherited decode(String text, Instant time) {
    try {
      Map<String, Object> m = JSON.readValue(text, MAP);
      if (!(m.get("key") instanceof String key)
          || !(m.get("startsAt") instanceof String startsAt)
          || !(m.get("labels") instanceof Map<?, ?> raw)) {
        return null;
      }
      Map<String, String> labels = new LinkedHashMap<>();
      for (var e : raw.entrySet()) {
        if (!(e.getKey() instanceof String k) || !(e.getValue() instanceof String v)) return null;
        labels.put(k, v);
      }
      String severity = labels.get("severity");
      if (severity == null || !Severity.valueOf(severity.toUpperCase()).pages()) return null;
      return new AlertBook.Inherited(key, labels, Instant.parse(startsAt), time);
    } catch (JsonProcessingException | RuntimeException e) {
      return null;
    }
  }
}

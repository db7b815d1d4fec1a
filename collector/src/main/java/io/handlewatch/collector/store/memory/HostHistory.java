package io.handlewatch.collector.store.memory;

import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoredPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every series of one host. One lock per host: agents' streams for different hosts never wait for
 * each other.
 */
final class HostHistory {
  final String host;

  /** Key: measurement, tags and field names; a point whose fields differ gets its own series. */
  private final Map<String, Series> series = new HashMap<>();

  HostHistory(String host) {
    this.host = host;
  }

  /** Stores a report's points; returns the change in bytes held. */
  synchronized long put(List<StoredPoint> points) {
    long delta = 0;
    for (StoredPoint p : points) {
      String key = key(p);
      Series s = series.get(key);
      if (s == null) {
        s = newSeries(p);
        series.put(key, s);
        delta += keyBytes(key, s);
      }
      double[] nums = new double[s.numericFields.length];
      String[] texts = new String[s.textFields.length];
      int n = 0;
      int t = 0;
      for (Object v : p.fields().values()) {
        if (v instanceof String str) {
          texts[t++] = str;
        } else {
          nums[n++] = ((Number) v).doubleValue();
        }
      }
      delta += s.put(p.time().toEpochMilli(), nums, texts);
    }
    return delta;
  }

  /** Drops samples at or before {@code timeMs}; returns the change in bytes held. */
  synchronized long evictUpTo(long timeMs) {
    long delta = 0;
    for (Iterator<Map.Entry<String, Series>> it = series.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      Series s = e.getValue();
      delta += s.evictUpTo(timeMs);
      if (s.size() == 0) {
        delta -= s.bytes() + keyBytes(e.getKey(), s);
        it.remove();
      }
    }
    return delta;
  }

  synchronized boolean isEmpty() {
    return series.isEmpty();
  }

  synchronized int seriesCount() {
    return series.size();
  }

  synchronized List<SeriesPoint> query(SeriesQuery q) {
    long from = q.from().toEpochMilli();
    long to = q.to().toEpochMilli();
    List<SeriesPoint> out = new ArrayList<>();
    for (Series s : series.values()) {
      if (!s.measurement.equals(q.measurement()) || !matches(s, q.tags())) continue;
      int num = s.numericField(q.field());
      int txt = num < 0 ? s.textField(q.field()) : -1;
      if (num < 0 && txt < 0) continue;
      Map<String, String> tags = new TreeMap<>();
      for (int i = 0; i < s.tagKeys.length; i++) tags.put(s.tagKeys[i], s.tagValues[i]);
      for (int i = 0; i < s.size(); i++) {
        long t = s.timeAt(i);
        if (t < from || t > to) continue;
        out.add(
            num >= 0
                ? SeriesPoint.numeric(Instant.ofEpochMilli(t), tags, s.numericAt(num, i))
                : new SeriesPoint(Instant.ofEpochMilli(t), tags, Double.NaN, s.textAt(txt, i)));
      }
    }
    return out;
  }

  /** Every point of the given measurements in {@code [fromMs, toMs]}, in no particular order. */
  synchronized List<StoredPoint> history(Set<String> measurements, long fromMs, long toMs) {
    List<StoredPoint> out = new ArrayList<>();
    for (Series s : series.values()) {
      if (!measurements.contains(s.measurement)) continue;
      Map<String, String> tags = new TreeMap<>();
      for (int i = 0; i < s.tagKeys.length; i++) tags.put(s.tagKeys[i], s.tagValues[i]);
      for (int i = 0; i < s.size(); i++) {
        long t = s.timeAt(i);
        if (t < fromMs || t > toMs) continue;
        Map<String, Object> fields = new LinkedHashMap<>();
        for (int f = 0; f < s.numericFields.length; f++) {
          fields.put(s.numericFields[f], s.numericAt(f, i));
        }
        for (int f = 0; f < s.textFields.length; f++) {
          String v = s.textAt(f, i);
          if (v != null) fields.put(s.textFields[f], v);
        }
        out.add(
            new StoredPoint(s.measurement, new TreeMap<>(tags), fields, Instant.ofEpochMilli(t)));
      }
    }
    return out;
  }

  private static boolean matches(Series s, Map<String, String> want) {
    for (var w : want.entrySet()) {
      boolean found = false;
      for (int i = 0; i < s.tagKeys.length; i++) {
        if (s.tagKeys[i].equals(w.getKey())) {
          found = s.tagValues[i].equals(w.getValue());
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }

  private static String key(StoredPoint p) {
    StringBuilder sb = new StringBuilder(64).append(p.measurement());
    for (var t : p.tags().entrySet()) {
      if (t.getKey().equals("host")) continue;
      sb.append('\u0000').append(t.getKey()).append('=').append(t.getValue());
    }
    sb.append('\u0001');
    for (var f : p.fields().keySet()) sb.append(f).append(',');
    return sb.toString();
  }

  private static Series newSeries(StoredPoint p) {
    String[] keys = p.tags().keySet().toArray(String[]::new);
    String[] values = new String[keys.length];
    for (int i = 0; i < keys.length; i++) {
      values[i] = p.tags().get(keys[i]).intern();
      keys[i] = keys[i].intern();
    }
    List<String> nums = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    for (var f : p.fields().entrySet()) {
      (f.getValue() instanceof String ? texts : nums).add(f.getKey().intern());
    }
    return new Series(
        p.measurement().intern(),
        keys,
        values,
        nums.toArray(String[]::new),
        texts.toArray(String[]::new));
  }

  /** The map entry, its key and the series' own tag values (names are interned, shared). */
  private static long keyBytes(String key, Series s) {
    long b = 48 + 40 + key.length();
    for (String v : s.tagValues) b += 40 + v.length();
    return b + 16L * s.tagKeys.length;
  }
}

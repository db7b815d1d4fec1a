package io.handlewatch.collector.store.influx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.store.AggregateQuery;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.TagValues;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The InfluxQL reads of {@link InfluxStore}: a host's series, summarised or not, and its recent
 * history for a detector's warm-up, each one GET of /query whose JSON answer is turned back into
 * the store contract's points.
 */
final class InfluxReader {
  private static final ObjectMapper json = new ObjectMapper();

  private final InfluxStoreFactory config;
  private final HttpClient http;
  private final String auth;

  /**
   * @param auth the Authorization header's value, or null for none
   */
  InfluxReader(InfluxStoreFactory config, HttpClient http, String auth) {
    this.config = config;
    this.http = http;
    this.auth = auth;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /**
   * The /query URI of one InfluxQL statement ({@code influxql} null when it goes in a form body);
   * {@code epoch} null for InfluxDB's own times.
   */
  static URI queryUri(InfluxStoreFactory config, String influxql, String epoch) {
    String db = config.api == InfluxStoreFactory.Api.v1 ? config.database : config.bucket;
    StringBuilder u =
        new StringBuilder(config.url.replaceAll("/+$", "")).append("/query?db=").append(enc(db));
    if (influxql != null) u.append("&q=").append(enc(influxql));
    if (epoch != null) u.append("&epoch=").append(epoch);
    return URI.create(u.toString());
  }

  /** An InfluxQL identifier, double-quoted. */
  static String identifier(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  /** An InfluxQL string literal, single-quoted. */
  static String literal(String s) {
    return '\'' + s.replace("\\", "\\\\").replace("'", "\\'") + '\'';
  }

  List<SeriesPoint> series(SeriesQuery q) throws StoreException {
    String sql =
        "SELECT " + identifier(q.field()) + " FROM " + identifier(q.measurement()) + where(q);
    return points(query(sql + " GROUP BY *"));
  }

  /** InfluxDB summarises: {@code GROUP BY time(step), *} with {@code fill(none)}. */
  List<SeriesPoint> aggregate(AggregateQuery a) throws StoreException {
    SeriesQuery q = a.series();
    String sql =
        "SELECT "
            + a.aggregation().influxql()
            + "("
            + identifier(q.field())
            + ") FROM "
            + identifier(q.measurement())
            + where(q)
            + " GROUP BY time("
            + a.step().toMillis()
            + "ms), * fill(none)";
    return points(query(sql));
  }

  /**
   * One query for all the measurements: {@code SELECT * FROM m1, m2 ... GROUP BY *}, so each series
   * comes back with its tags and its rows hold exactly the fields written together.
   */
  List<StoredPoint> history(String host, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    return histories(List.of(host), measurements, from, to).get(host);
  }

  /**
   * {@link #history} of many hosts in one query: the hosts as an OR list of {@code "host" = '...'}
   * (the tag index answers it as it does one host), the series told apart by their host tag. A
   * partial answer (InfluxDB's {@code max-row-limit}) is asked again in halves, down to one host.
   */
  java.util.Map<String, List<StoredPoint>> histories(
      java.util.Collection<String> hosts, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    java.util.Map<String, List<StoredPoint>> out = new java.util.LinkedHashMap<>();
    for (String h : hosts) out.put(h, new ArrayList<>());
    if (measurements.isEmpty() || out.isEmpty()) return out;
    read(List.copyOf(out.keySet()), measurements, from, to, out);
    for (List<StoredPoint> points : out.values()) {
      points.sort(Comparator.comparing(StoredPoint::time));
    }
    return out;
  }

  private void read(
      List<String> hosts,
      Set<String> measurements,
      Instant from,
      Instant to,
      java.util.Map<String, List<StoredPoint>> out)
      throws StoreException {
    // The host tag as stored, back to the names asked for (line breaks are made safe on the way
    // in, so two names may share one stored value: each gets what a read of its own would).
    java.util.Map<String, List<String>> byTag = new java.util.HashMap<>();
    StringBuilder where = new StringBuilder();
    for (String h : hosts) {
      String stored = TagValues.toLineProtocol(h);
      List<String> names = byTag.computeIfAbsent(stored, k -> new ArrayList<>(1));
      if (names.isEmpty()) {
        where.append(where.isEmpty() ? "" : " OR ").append("\"host\" = ").append(literal(stored));
      }
      names.add(h);
    }
    // One statement per measurement, all in one request: a single SELECT * over several
    // measurements answers with the union of their fields as columns (nulls for the others), three
    // times the JSON and up to twice InfluxDB's time for the same points (BENCHMARKS.md, issue 15).
    String clause =
        " WHERE "
            + (byTag.size() == 1 ? where : "(" + where + ")")
            + " AND time >= "
            + from.toEpochMilli()
            + "ms AND time <= "
            + to.toEpochMilli()
            + "ms GROUP BY *";
    String sql =
        String.join(
            "; ",
            measurements.stream()
                .sorted()
                .map(m -> "SELECT * FROM " + identifier(m) + clause)
                .toList());
    List<JsonNode> results = queryAll(sql);
    boolean partial = false;
    for (JsonNode r : results) partial |= r.path("partial").asBoolean(false);
    if (partial) {
      if (hosts.size() > 1) {
        int half = hosts.size() / 2;
        read(hosts.subList(0, half), measurements, from, to, out);
        read(hosts.subList(half, hosts.size()), measurements, from, to, out);
        return;
      }
      // A cut history would make a wrong trend: better none (the caller starts the host cold).
      throw new StoreException(
          StoreException.Kind.TRANSIENT,
          "InfluxDB at "
              + config.url
              + " returned a partial history of host "
              + hosts.getFirst()
              + " (its [http] max-row-limit is lower than the window's points)");
    }
    for (JsonNode result : results) collect(result, byTag, out);
  }

  /** The rows of one statement's result, each handed to the hosts whose stored tag it carries. */
  private static void collect(
      JsonNode result,
      java.util.Map<String, List<String>> byTag,
      java.util.Map<String, List<StoredPoint>> out) {
    for (JsonNode series : result.path("series")) {
      String measurement = series.path("name").asText();
      List<String> owners = byTag.get(series.path("tags").path("host").asText(""));
      if (owners == null) continue;
      TreeMap<String, String> tags = tagsOf(series);
      JsonNode columns = series.path("columns");
      for (JsonNode row : series.path("values")) {
        Map<String, Object> fields = new java.util.LinkedHashMap<>();
        for (int i = 1; i < row.size(); i++) {
          JsonNode v = row.get(i);
          if (v == null || v.isNull()) continue;
          String name = columns.path(i).asText();
          if (v.isNumber()) fields.put(name, v.asDouble());
          else if (v.isBoolean()) fields.put(name, v.asBoolean() ? 1.0 : 0.0);
          else fields.put(name, v.asText());
        }
        if (fields.isEmpty()) continue;
        Instant t = Instant.ofEpochMilli(row.get(0).asLong());
        for (String owner : owners) {
          out.get(owner).add(new StoredPoint(measurement, tags, fields, t));
        }
      }
    }
  }

  /** The WHERE clause of a series query: host, tags, and the closed time range. */
  private static String where(SeriesQuery q) {
    StringBuilder sql =
        new StringBuilder(" WHERE \"host\" = ").append(literal(TagValues.toLineProtocol(q.host())));
    for (var t : new TreeMap<>(q.tags()).entrySet()) {
      sql.append(" AND ")
          .append(identifier(t.getKey()))
          .append(" = ")
          .append(literal(TagValues.toLineProtocol(t.getValue())));
    }
    return sql.append(" AND time >= ")
        .append(q.from().toEpochMilli())
        .append("ms AND time <= ")
        .append(q.to().toEpochMilli())
        .append("ms")
        .toString();
  }

  /** A result series' tags; empty ones (a tag key the series lacks) dropped. */
  private static TreeMap<String, String> tagsOf(JsonNode series) {
    TreeMap<String, String> tags = new TreeMap<>();
    series
        .path("tags")
        .fields()
        .forEachRemaining(
            e -> {
              String v = e.getValue().asText();
              if (!v.isEmpty()) tags.put(e.getKey(), TagValues.fromLineProtocol(v));
            });
    return tags;
  }

  /** The points of a query result, every series' tags (empty ones dropped), oldest first. */
  private static List<SeriesPoint> points(JsonNode result) {
    List<SeriesPoint> out = new ArrayList<>();
    for (JsonNode series : result.path("series")) {
      Map<String, String> tags = tagsOf(series);
      for (JsonNode row : series.path("values")) {
        Instant t = Instant.ofEpochMilli(row.get(0).asLong());
        JsonNode v = row.get(1);
        if (v == null || v.isNull()) continue;
        out.add(
            v.isNumber()
                ? SeriesPoint.numeric(t, tags, v.asDouble())
                : new SeriesPoint(t, tags, Double.NaN, v.asText()));
      }
    }
    out.sort(Comparator.comparing(SeriesPoint::time));
    return out;
  }

  /** Runs one InfluxQL statement and returns its result object (results[0]). */
  JsonNode query(String influxql) throws StoreException {
    return send(HttpRequest.newBuilder(queryUri(config, influxql, "ms")).GET(), influxql);
  }

  /**
   * Several InfluxQL statements, separated by semicolons, in one form-body request: their results
   * in statement order. An error in any of them fails the whole read.
   */
  List<JsonNode> queryAll(String influxql) throws StoreException {
    JsonNode body =
        sendBody(
            HttpRequest.newBuilder(queryUri(config, null, "ms"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("q=" + enc(influxql))));
    List<JsonNode> out = new ArrayList<>();
    JsonNode results = body.path("results");
    if (!body.path("error").asText("").isEmpty() || results.isEmpty()) {
      out.add(checked(body, body.path("results").path(0), influxql));
      return out;
    }
    for (JsonNode r : results) out.add(checked(body, r, influxql));
    return out;
  }

  private JsonNode send(HttpRequest.Builder rb, String influxql) throws StoreException {
    JsonNode body = sendBody(rb);
    return checked(body, body.path("results").path(0), influxql);
  }

  private JsonNode sendBody(HttpRequest.Builder rb) throws StoreException {
    rb.timeout(Duration.ofMillis(config.requestTimeout.toMilliseconds()));
    if (auth != null) rb.header("Authorization", auth);
    HttpResponse<String> r;
    try {
      r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new StoreException(
          StoreException.Kind.TRANSIENT, "InfluxDB at " + config.url + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.TRANSIENT, "interrupted", e);
    }
    if (r.statusCode() == 401 || r.statusCode() == 403) {
      throw new StoreException(
          StoreException.Kind.CONFIGURATION, "InfluxDB refused the query: " + r.statusCode());
    }
    try {
      return json.readTree(r.body());
    } catch (IOException e) {
      throw new StoreException(
          StoreException.Kind.TRANSIENT,
          "InfluxDB answered " + r.statusCode() + " with no JSON: " + r.body(),
          e);
    }
  }

  /** One statement's result, or its error (or the request's) as an exception. */
  private static JsonNode checked(JsonNode body, JsonNode result, String influxql)
      throws StoreException {
    String error = result.path("error").asText(body.path("error").asText(""));
    if (!error.isEmpty()) {
      if (error.contains("database not found")) return json.createObjectNode();
      throw new StoreException(
          StoreException.Kind.INVALID,
          "InfluxQL error: "
              + error
              + " in: "
              // A batched history names hundreds of hosts: its start says enough.
              + (influxql.length() > 500 ? influxql.substring(0, 500) + "..." : influxql));
    }
    return result;
  }
}

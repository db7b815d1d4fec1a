package io.handlewatch.collector.notify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * POSTs a JSON body to one URL and classifies the answer: 2xx returns, anything else throws a
 * {@link NotifyException} that says whether retrying can help (429, 5xx and transport failures) or
 * not (other 4xx). Both notifiers speak HTTP+JSON through this.
 */
final class JsonPoster implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BODY_IN_MESSAGE = 300;

  private final URI uri;
  private final Duration timeout;
  private final Map<String, String> headers;
  private final HttpClient http;

  JsonPoster(URI uri, Duration timeout, Map<String, String> headers) {
    this.uri = uri;
    this.timeout = timeout;
    this.headers = Map.copyOf(headers);
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  URI uri() {
    return uri;
  }

  /**
   * GETs {@code url} (same headers, same timeout) and returns the answer read as JSON; anything but
   * 2xx throws, classified as for a POST, and an answer that is no JSON throws as a rejection.
   */
  JsonNode getJson(URI url) throws NotifyException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Accept", "application/json")
            .header("User-Agent", "handlewatch-collector")
            .GET();
    headers.forEach(request::header);
    String body = answer(url, request.build());
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new NotifyException(
          NotifyException.Kind.REJECTED, 0, null, url + " answered no JSON: " + e, e);
    }
  }

  void post(Object body) throws NotifyException, InterruptedException {
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      // Our own records always serialize; if one did not, no retry would help.
      throw new NotifyException(
          NotifyException.Kind.REJECTED, 0, null, "cannot encode the alert as JSON: " + e, e);
    }
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("User-Agent", "handlewatch-collector")
            .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    headers.forEach(request::header);
    answer(uri, request.build());
  }

  private String answer(URI uri, HttpRequest request) throws NotifyException, InterruptedException {
    HttpResponse<String> r;
    try {
      r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpTimeoutException e) {
      throw NotifyException.unreachable("no answer from " + uri + " within " + timeout, e);
    } catch (IOException e) {
      throw NotifyException.unreachable("cannot reach " + uri + ": " + e, e);
    }
    int status = r.statusCode();
    if (status / 100 == 2) return r.body();
    String answer = r.body() == null ? "" : r.body().strip();
    if (answer.length() > MAX_BODY_IN_MESSAGE)
      answer = answer.substring(0, MAX_BODY_IN_MESSAGE) + "...";
    throw NotifyException.forStatus(
        status,
        retryAfter(r.headers().firstValue("Retry-After").orElse(null), Instant.now()),
        uri + " answered HTTP " + status + (answer.isEmpty() ? "" : ": " + answer));
  }

  /** Retry-After as delay-seconds or an HTTP-date (RFC 9110 section 10.2.3); null if absent. */
  static Duration retryAfter(String header, Instant now) {
    if (header == null || header.isBlank()) return null;
    String v = header.strip();
    if (v.chars().allMatch(Character::isDigit)) {
      return v.length() > 9 ? Duration.ofDays(1) : Duration.ofSeconds(Long.parseLong(v));
    }
    try {
      Duration d =
          Duration.between(now, ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
      return d.isNegative() ? Duration.ZERO : d;
    } catch (DateTimeParseException e) {
      return null; // an unusable hint: our own backoff applies
    }
  }

  @Override
  public void close() {
    // Not close(): that waits for requests in flight, and a hung receiver would hold up shutdown.
    http.shutdownNow();
  }
}

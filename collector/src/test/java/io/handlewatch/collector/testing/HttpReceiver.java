package io.handlewatch.collector.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;

/**
 * A real HTTP server on loopback that records every request it gets and answers 200 (or what a test
 * scripts with {@link #answerNext}). It stands in for whatever receives pages: Alertmanager's
 * webhook receiver, or a PagerDuty-shaped endpoint.
 */
public final class HttpReceiver implements AutoCloseable {

  /** One request as received ({@code nanos}: System.nanoTime); header names lower-case. */
  public record Request(
      String method, String path, Map<String, String> headers, String body, long nanos) {}

  private final HttpServer server;
  private final List<Request> requests = new ArrayList<>();
  private final Deque<Integer> scripted = new ArrayDeque<>();
  private int status = 200;
  private java.util.function.ToIntFunction<Request> judge;
  private String retryAfter429;

  private HttpReceiver(int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    server.setExecutor(Executors.newFixedThreadPool(2));
    server.createContext("/", this::handle);
    server.start();
  }

  /** On a free loopback port. */
  public static HttpReceiver start() throws IOException {
    return new HttpReceiver(0);
  }

  /** On a given port (one reserved before, for "receiver down, then up" tests). */
  public static HttpReceiver start(int port) throws IOException {
    return new HttpReceiver(port);
  }

  private void handle(HttpExchange ex) throws IOException {
    String body;
    try (InputStream in = ex.getRequestBody()) {
      body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Map<String, String> headers = new TreeMap<>();
    ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join(",", v)));
    int answer;
    synchronized (this) {
      requests.add(
          new Request(
              ex.getRequestMethod(),
              ex.getRequestURI().getPath(),
              headers,
              body,
              System.nanoTime()));
      Request r = requests.getLast();
      if (!scripted.isEmpty()) answer = scripted.poll();
      else if (judge != null) answer = judge.applyAsInt(r);
      else answer = status;
      if (answer == 429 && retryAfter429 != null)
        ex.getResponseHeaders().set("Retry-After", retryAfter429);
    }
    byte[] out = (answer / 100 == 2 ? "" : "refused by test receiver").getBytes();
    ex.sendResponseHeaders(answer, out.length == 0 ? -1 : out.length);
    if (out.length > 0) ex.getResponseBody().write(out);
    ex.close();
  }

  /** The next requests get these statuses, in order; then the default again. */
  public synchronized void answerNext(int... statuses) {
    for (int s : statuses) scripted.add(s);
  }

  /** A 429 answer carries {@code Retry-After: seconds}. */
  public synchronized void retryAfterOn429(int seconds) {
    retryAfter429 = Integer.toString(seconds);
  }

  /** The status every request gets from now on (after any scripted ones). */
  public synchronized void answerAlways(int status) {
    this.status = status;
  }

  /** Decides each request's status (after any scripted ones), e.g. to validate like PagerDuty. */
  public synchronized void answerBy(java.util.function.ToIntFunction<Request> judge) {
    this.judge = judge;
  }

  public synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}

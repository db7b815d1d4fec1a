package io.handlewatch.collector.store.influx;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import com.sun.net.httpserver.HttpServer;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.WriteOutcome;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the InfluxDB store answers each class of response, against a scripted fake on loopback. */
class InfluxWriteClassificationTest {
  /** A request the fake received: its body and when (System.nanoTime). */
  record Received(String body, long atNanos) {}

  /** A scripted answer: status, optional Retry-After. */
  record Reply(int status, String retryAfter, String body) {
    static Reply of(int status) {
      return new Reply(status, null, "");
    }
  }

  private HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
  private Function<String, Reply> byBody;
  private InfluxStore store;
  private final MetricRegistry metrics = new MetricRegistry();
  private final Instant now = Instant.now();

  private void startFake() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/write",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          received.add(new Received(body, System.nanoTime()));
          Reply r = byBody != null ? byBody.apply(body) : script.poll();
          if (r == null) r = Reply.of(204);
          if (r.retryAfter != null) ex.getResponseHeaders().add("Retry-After", r.retryAfter);
          byte[] out = r.body.getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(
              r.status,
              r.status == 204
                  ? -1
                  : Math.max(out.length, 1) == 0 ? -1 : out.length == 0 ? -1 : out.length);
          if (out.length > 0) ex.getResponseBody().write(out);
          ex.close();
        });
    server.start();
  }

  private InfluxStore store(String url) {
    InfluxStoreFactory f = new InfluxStoreFactory();
    f.url = url;
    f.createDatabase = false;
    // One writer, so reports written together share a batch: these tests are about how one
    // batch's answer is classified (with several writers the reports could each go alone).
    f.writeConcurrency = 1;
    // Nor a stall writer: a slow first answer would send the next report beside it.
    f.stallWriters = 0;
    f.flushInterval = io.dropwizard.util.Duration.milliseconds(50);
    f.maxRetryTime = io.dropwizard.util.Duration.seconds(10);
    store = (InfluxStore) f.build(metrics);
    return store;
  }

  private String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    if (store != null) store.close();
    if (server != null) server.stop(0);
  }

  private static WriteOutcome get(CompletableFuture<WriteOutcome> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  @Test
  void noContentMeansStored() throws Exception {
    startFake();
    var s = store(url());
    WriteOutcome o = get(s.write(report("a", 1, now)));
    assertThat(o.pointsWritten()).isEqualTo(10);
    assertThat(received).hasSize(1);
    assertThat(received.getFirst().body()).contains("tcp,host=a ").contains("close_wait=1i");
    assertThat(s.latest("a")).isPresent();
  }

  @Test
  void aBadRequestDropsOnlyTheMalformedReport() throws Exception {
    startFake();
    // The fake refuses any batch containing host "bad", as InfluxDB refuses a malformed line.
    byBody =
        body ->
            body.contains("host=bad")
                ? new Reply(400, null, "{\"error\":\"partial write\"}")
                : Reply.of(204);
    var s = store(url());
    var good1 = s.write(report("good1", 1, now));
    var bad = s.write(report("bad", 1, now));
    var good2 = s.write(report("good2", 1, now));
    assertThat(get(good1).pointsDropped()).isZero();
    assertThat(get(good2).pointsDropped()).isZero();
    assertThat(get(bad).pointsDropped()).isEqualTo(10);
    assertThat(metrics.counter("store.influxdb.points.dropped").getCount()).isEqualTo(10);
    assertThat(s.latest("bad")).isEmpty();
  }

  @Test
  void tooLargeSplitsTheBatchInHalves() throws Exception {
    startFake();
    // Refuse any body holding more than one report's worth of tcp lines.
    byBody =
        body ->
            body.split("\ntcp,").length > 1 || body.indexOf("tcp,") != body.lastIndexOf("tcp,")
                ? Reply.of(413)
                : Reply.of(204);
    var s = store(url());
    List<CompletableFuture<WriteOutcome>> all = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) all.add(s.write(report("h" + i, 1, now)));
    for (var f : all) assertThat(get(f).pointsWritten()).isEqualTo(10);
    long accepted =
        received.stream()
            .filter(r -> r.body().indexOf("tcp,") == r.body().lastIndexOf("tcp,"))
            .count();
    assertThat(accepted).isEqualTo(4);
    assertThat(metrics.counter("store.influxdb.splits").getCount()).isPositive();
  }

  @Test
  void tooManyRequestsWaitsForRetryAfter() throws Exception {
    startFake();
    script.add(new Reply(429, "1", ""));
    var s = store(url());
    assertThat(get(s.write(report("a", 1, now))).pointsWritten()).isEqualTo(10);
    assertThat(received).hasSize(2);
    long gapMs =
        TimeUnit.NANOSECONDS.toMillis(received.get(1).atNanos() - received.get(0).atNanos());
    assertThat(gapMs).as("retry honoured Retry-After: 1").isGreaterThanOrEqualTo(950);
  }

  @Test
  void serverErrorsAreRetried() throws Exception {
    startFake();
    script.add(Reply.of(503));
    script.add(Reply.of(500));
    var s = store(url());
    assertThat(get(s.write(report("a", 1, now))).pointsWritten()).isEqualTo(10);
    assertThat(received).hasSize(3);
    assertThat(metrics.counter("store.influxdb.retries").getCount()).isEqualTo(2);
  }

  @Test
  void unauthorizedIsAConfigurationErrorShownByTheHealthCheck() throws Exception {
    startFake();
    byBody = body -> new Reply(401, null, "{\"error\":\"authorization failed\"}");
    var s = store(url());
    assertThatThrownBy(() -> get(s.write(report("a", 1, now))))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(StoreException.class)
        .satisfies(
            e ->
                assertThat(((StoreException) e).kind())
                    .isEqualTo(StoreException.Kind.CONFIGURATION));
    assertThat(received).hasSize(1);
    assertThat(s.check().healthy()).isFalse();
    assertThat(s.check().message()).contains("credentials");
  }

  @Test
  void anUnreachableServerIsRetriedUntilItComesUp() throws Exception {
    int port;
    try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    var s = store("http://127.0.0.1:" + port);
    var f = s.write(report("a", 1, now));
    assertThat(s.check().healthy()).isFalse();
    // Wait until the store has failed at least once, then bring the server up on that port.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (metrics.counter("store.influxdb.retries").getCount() == 0) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(10); // polling a counter with a deadline
    }
    assertThat(f).isNotDone();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext(
        "/write",
        ex -> {
          received.add(new Received("", System.nanoTime()));
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    server.start();
    assertThat(get(f).pointsWritten()).isEqualTo(10);
  }
}

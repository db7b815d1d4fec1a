package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionRunner;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.testing.CloseWaitLeak;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A page stays one page across a warm-up read that answers late, with real programs: a real agent
 * samples this host at 1 s, a real child process leaks CLOSE_WAIT sockets, the collector (detection
 * shortened as PagingStack shortens it, warm-up timeout 1 s) stores on a real influxd and pages a
 * real Alertmanager. The collector has just started, as after a restart: the host is new to it, and
 * its warm-up read is held by a loopback proxy in front of influxd until the test lets it go, so
 * the host starts cold at {@code warmUp.timeout} and its history is merged late (the store's
 * request timeout is longer than the hold: here the read itself is slow, where in a fleet it waits
 * its turn behind other hosts' reads). The leak pages while the host is cold, pauses with its
 * sockets held (its verdict clears), the late history is merged, the quiet period passes, and the
 * leak goes on: one incident throughout, never resolved, no second page.
 */
class LateWarmUpPagingIT {
  private static final String HOST = "late-warmup-e2e";

  @TempDir Path dir;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  @Test
  void aLeakPagedWhileColdStaysOnePageAcrossTheLateMerge() throws Exception {
    assertThat(RealPrograms.AGENT_JAR).exists();
    InfluxdHarness influxd = InfluxdHarness.start();
    closing.add(influxd);
    HeldReads proxy = HeldReads.start(influxd.url());
    closing.add(proxy);
    PagingStack stack =
        PagingStack.start(
            dir,
            am ->
                """
                ingest: {bindHost: 127.0.0.1, port: 0}
                store:
                  type: influxdb
                  url: "%s"
                  database: latewarmup
                  flushInterval: 20ms
                  requestTimeout: 5m
                %s
                notifiers:
                  - type: alertmanager
                    urls: [%s]
                    resendInterval: 2s
                """
                    .formatted(
                        proxy.url(),
                        PagingStack.SHORTENED_DETECTION.strip() + "\n  warmUp: {timeout: 1s}",
                        am));
    closing.add(stack);
    DetectionRunner detector = stack.collector().detector();
    List<Alert> transitions = new CopyOnWriteArrayList<>();
    detector.addAlertListener(transitions::add);

    RealPrograms programs = new RealPrograms(dir);
    closing.add(programs);
    programs.agentReporting(stack.grpcPort(), HOST, "--interval", "1s");
    RealPrograms.await(
        "the host started cold, its read held",
        Duration.ofSeconds(60),
        () -> counter(stack, "detect.warmup.cold") == 1 && proxy.held.get() > 0,
        () -> "\nagent:\n" + programs.log("agent"));

    CloseWaitLeak leak = CloseWaitLeak.start();
    closing.add(leak);
    String pid = Long.toString(leak.pid());
    // Growth, not a step: two sockets a second until it pages (the sleep is the leak's pace).
    leakUntil(leak, () -> !stack.notificationsAbout("pid", pid).isEmpty(), "the page while cold");
    assertThat(counter(stack, "detect.warmup.late")).as("not merged yet").isZero();
    Alert paged = transitions.getFirst();
    assertThat(paged.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(paged.labels()).containsEntry("pid", pid);

    // The leak pauses, its sockets held: once its verdict has cleared, the late read answers.
    RealPrograms.await(
        "the verdict to clear",
        Duration.ofSeconds(120),
        () ->
            detector.view().verdicts(HOST).stream()
                .noneMatch(v -> v.kind() == Kind.CLOSE_WAIT && v.severity().pages()),
        () -> "\nverdicts: " + detector.view().verdicts(HOST));
    proxy.letGo.countDown();
    RealPrograms.await(
        "the late merge",
        Duration.ofSeconds(30),
        () -> counter(stack, "detect.warmup.late") == 1,
        () -> "\nmetrics: " + RealPrograms.metrics(stack.adminPort()).path("counters"));

    // The quiet period (20 s) and more pass with the sockets held and no growth: still firing.
    long judged = detector.view().host(HOST).orElseThrow().evaluatedAt().toEpochMilli();
    RealPrograms.await(
        "40 s of the host's reports after the merge",
        Duration.ofSeconds(90),
        () ->
            detector.view().host(HOST).orElseThrow().evaluatedAt().toEpochMilli()
                >= judged + 40_000,
        () -> "\nagent:\n" + programs.log("agent"));
    assertThat(transitions).as("held sockets keep the incident open").containsExactly(paged);

    // The leak goes on: the same incident, not a second page.
    leakUntil(
        leak,
        () ->
            detector.view().verdicts(HOST).stream()
                .anyMatch(v -> v.kind() == Kind.CLOSE_WAIT && v.severity().pages()),
        "the growth seen again");
    assertThat(transitions).as("one incident, never resolved").containsExactly(paged);
    assertThat(counter(stack, "detect.transitions.resolved")).isZero();
    List<JsonNode> pages = stack.notificationsAbout("pid", pid);
    assertThat(PagingStack.count(pages, "firing")).as("pages: %s", pages).isEqualTo(1);
    assertThat(PagingStack.count(pages, "resolved")).as("pages: %s", pages).isZero();
    assertThat(stack.alertsAbout("pid", pid))
        .singleElement()
        .satisfies(
            a ->
                assertThat(java.time.Instant.parse(a.path("startsAt").asText()))
                    .isEqualTo(paged.startsAt()));
  }

  /** Leaks two sockets a second until {@code done}, for at most 90 s. */
  private static void leakUntil(
      CloseWaitLeak leak, java.util.function.BooleanSupplier done, String what) throws Exception {
    for (int i = 0; i < 90; i++) {
      if (done.getAsBoolean()) return;
      leak.leak(2);
      Thread.sleep(1000); // the leak's pace, not a wait for a condition
    }
    throw new AssertionError("never: " + what);
  }

  private static long counter(PagingStack stack, String name) {
    JsonNode m = RealPrograms.metrics(stack.adminPort());
    return m == null ? -1 : m.at("/counters/" + name + "/count").asLong(-1);
  }

  /**
   * A loopback proxy in front of influxd that passes everything through, except that InfluxQL
   * SELECTs (the collector's only reads are its warm-up's history reads) wait until {@link #letGo}.
   */
  static final class HeldReads implements AutoCloseable {
    /** Headers of one hop, which the proxy's own client and server set. */
    private static final java.util.Set<String> HOP =
        java.util.Set.of(
            "connection",
            "content-length",
            "expect",
            "host",
            "upgrade",
            "transfer-encoding",
            ":status");

    final CountDownLatch letGo = new CountDownLatch(1);
    final AtomicInteger held = new AtomicInteger();
    private final HttpServer server;
    private final HttpClient client = HttpClient.newHttpClient();
    private final String target;

    private HeldReads(String target) throws IOException {
      this.target = target;
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
      server.createContext("/", this::forward);
      server.start();
    }

    static HeldReads start(String target) throws IOException {
      return new HeldReads(target);
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void forward(HttpExchange ex) throws IOException {
      try (ex) {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
          body = in.readAllBytes();
        }
        String uri = ex.getRequestURI().toString();
        String said =
            URLDecoder.decode(uri, StandardCharsets.UTF_8)
                + " "
                + URLDecoder.decode(
                    new String(body, StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        if (ex.getRequestURI().getPath().equals("/query") && said.contains("SELECT")) {
          held.incrementAndGet();
          if (!letGo.await(5, TimeUnit.MINUTES)) throw new IOException("never let go");
        }
        HttpRequest.Builder rb =
            HttpRequest.newBuilder(URI.create(target + uri))
                .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        for (var h : ex.getRequestHeaders().entrySet()) {
          if (HOP.contains(h.getKey().toLowerCase(java.util.Locale.ROOT))) continue;
          for (String v : h.getValue()) rb.header(h.getKey(), v);
        }
        HttpResponse<byte[]> r = client.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
        for (var h : r.headers().map().entrySet()) {
          if (HOP.contains(h.getKey().toLowerCase(java.util.Locale.ROOT))) continue;
          for (String v : h.getValue()) ex.getResponseHeaders().add(h.getKey(), v);
        }
        byte[] out = r.body();
        ex.sendResponseHeaders(r.statusCode(), out.length == 0 ? -1 : out.length);
        if (out.length > 0) ex.getResponseBody().write(out);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }

    @Override
    public void close() {
      letGo.countDown();
      server.stop(0);
      client.close();
    }
  }
}

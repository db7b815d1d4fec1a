package io.handlewatch.collector.store.influx;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.sun.net.httpserver.HttpServer;
import io.handlewatch.collector.store.WriteOutcome;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * When the writers send. A writer sends at once with no other write in flight and batches while one
 * is, for at most {@code flushInterval} (10 s here, far longer than any assertion waits, so a
 * report that waited for the batching timer fails the test). With {@code flushInterval} 0 a free
 * writer always sends at once. A report that waited while every writer was busy says how long.
 */
class InfluxWriterBatchingTest {
  private HttpServer server;
  private ExecutorService handlers;
  private final List<String> bodies = new CopyOnWriteArrayList<>();
  private final CountDownLatch releaseFirst = new CountDownLatch(1);
  private InfluxStore store;
  private final MetricRegistry metrics = new MetricRegistry();
  private final Instant now = Instant.now();

  /** A fake InfluxDB whose first write answers only once {@link #releaseFirst} opens. */
  private void startFake(boolean holdFirst) throws Exception {
    startFake(body -> holdFirst && bodies.size() == 1);
  }

  /**
   * A fake InfluxDB that holds the writes {@code hold} picks (given each body once it is recorded
   * in {@link #bodies}) until {@link #releaseFirst} opens, as InfluxDB holds every write in a
   * stall.
   */
  private void startFake(java.util.function.Predicate<String> hold) throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    handlers = Executors.newCachedThreadPool();
    server.setExecutor(handlers);
    server.createContext(
        "/write",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          bodies.add(body);
          if (body.contains("host=failing") && releaseFirst.getCount() > 0) {
            // InfluxDB failing, not stalled: answers at once, with an error the writer retries.
            ex.sendResponseHeaders(503, -1);
            ex.close();
            return;
          }
          if (hold.test(body)) {
            try {
              releaseFirst.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    server.start();
  }

  private InfluxStore store(int writers) {
    return store(writers, io.dropwizard.util.Duration.seconds(10));
  }

  private InfluxStore store(int writers, io.dropwizard.util.Duration flushInterval) {
    return store(writers, flushInterval, f -> {});
  }

  private InfluxStore store(
      int writers,
      io.dropwizard.util.Duration flushInterval,
      java.util.function.Consumer<InfluxStoreFactory> more) {
    InfluxStoreFactory f = new InfluxStoreFactory();
    f.url = "http://127.0.0.1:" + server.getAddress().getPort();
    f.createDatabase = false;
    f.writeConcurrency = writers;
    if (flushInterval != null) f.flushInterval = flushInterval;
    more.accept(f);
    store = (InfluxStore) f.build(metrics);
    return store;
  }

  @AfterEach
  void stop() {
    releaseFirst.countDown();
    if (store != null) store.close();
    if (server != null) server.stop(0);
    if (handlers != null) handlers.shutdownNow();
  }

  @Test
  void aReportAloneIsSentAtOnceNotAfterTheFlushInterval() throws Exception {
    startFake(false);
    var s = store(4);
    long t0 = System.nanoTime();
    WriteOutcome o = s.write(report("a", 1, now)).get(5, TimeUnit.SECONDS);
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(o.pointsWritten()).isEqualTo(10);
    assertThat(tookMs).as("ms until stored, with a 10 s flush interval").isLessThan(5_000);
    assertThat(bodies).hasSize(1);
    assertThat(metrics.timer("store.influxdb.queue.latency").getSnapshot().getMax())
        .as("batching wait, ns")
        .isLessThan(TimeUnit.SECONDS.toNanos(1));
  }

  @Test
  void reportsArrivingWhileAWriteIsInFlightGoTogetherWhenItEnds() throws Exception {
    startFake(true);
    var s = store(2);
    var first = s.write(report("h0", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.size() == 1);
    List<CompletableFuture<WriteOutcome>> next = new ArrayList<>();
    for (int i = 1; i <= 3; i++) next.add(s.write(report("h" + i, 1, now)));
    // The second writer holds what arrives while the first POST is out, and sends nothing yet.
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(5))
        .until(() -> bodies.size() == 1);
    releaseFirst.countDown();
    assertThat(first.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    for (var f : next) assertThat(f.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(bodies).hasSize(2);
    assertThat(bodies.get(1)).contains("host=h1").contains("host=h2").contains("host=h3");
    assertThat(metrics.meter("store.influxdb.batches").getCount()).isEqualTo(2);
  }

  @Test
  void withNoFlushIntervalAFreeWriterSendsAtOnceWhileAnotherWriteIsInFlight() throws Exception {
    startFake(true);
    var s = store(2, io.dropwizard.util.Duration.milliseconds(0));
    var first = s.write(report("h0", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.size() == 1);
    var second = s.write(report("h1", 1, now));
    // Out on the free writer while the first POST is still held, not after a batching timer.
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.size() == 2);
    assertThat(second.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(first).isNotDone();
    assertThat(bodies.get(1)).contains("host=h1").doesNotContain("host=h0");
    // With a flushInterval above 0 (100 ms by default) a writer waits for its batch to fill while
    // another write is in flight: every such report waits at least that long.
    assertThat(metrics.timer("store.influxdb.queue.latency").getSnapshot().getMax())
        .as("ns from enqueued to its POST, the most of the two reports")
        .isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
    releaseFirst.countDown();
    assertThat(first.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }

  @Test
  void aReportThatWaitedForABusyWriterSaysHowLong() throws Exception {
    startFake(true);
    // No stall writer: the report waits for the one writer (the stall writers' own test is below).
    var s = store(1, null, f -> f.stallWriters = 0);
    var first = s.write(report("h0", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.size() == 1);
    var second = s.write(report("h1", 1, now));
    // The only writer is in the held POST: nothing else goes out meanwhile.
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(5))
        .until(() -> bodies.size() == 1);
    releaseFirst.countDown();
    WriteOutcome o0 = first.get(5, TimeUnit.SECONDS);
    WriteOutcome o1 = second.get(5, TimeUnit.SECONDS);
    assertThat(o1.writerWaitNanos())
        .as("h1 waited for the busy writer, ns")
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
    assertThat(o0.writerWaitNanos())
        .as("h0 found the writer free, ns")
        .isLessThan(TimeUnit.MILLISECONDS.toNanos(300));
    // InfluxDB's own time (its POST) is not the wait for the writer.
    assertThat(o1.backendNanos()).isLessThan(o1.writerWaitNanos());
    var waits = metrics.timer("store.influxdb.queue.writer_wait");
    assertThat(waits.getCount()).isEqualTo(2);
    assertThat(waits.getSnapshot().getMax()).isEqualTo(o1.writerWaitNanos());
    assertThat(bodies).hasSize(2);
  }

  /**
   * Writes reports one after the other, each stored before the next: the writers learn the typical
   * write time. Returns the stall writers' POSTs so far: on a busy machine a writer that is slow to
   * end its POST (over twice the typical ~1 ms) after its report is stored can meet the next report
   * queued, and a stall writer sends that one, so the tests count from here.
   */
  private long quickWrites(InfluxStore s, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      assertThat(s.write(report("warm" + i, 1, now)).get(5, TimeUnit.SECONDS).pointsWritten())
          .isEqualTo(10);
    }
    return stallWrites();
  }

  private long stallWrites() {
    return metrics.meter("store.influxdb.batches.stall_writer").getCount();
  }

  @Test
  void aReportArrivingWhileEveryWriteIsStalledGoesOutInAPostOfItsOwn() throws Exception {
    startFake(body -> body.contains("host=held"));
    var s = store(1, null);
    long stallsBefore = quickWrites(s, 20);
    var held = s.write(report("held", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.getLast().contains("host=held"));
    int before = bodies.size();
    var late = s.write(report("late", 1, now));
    // The only writer is in the stalled POST; the report goes out beside it, not after it.
    assertThat(late.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(held).isNotDone();
    assertThat(bodies).hasSize(before + 1);
    assertThat(bodies.getLast()).contains("host=late").doesNotContain("host=held");
    assertThat(stallWrites() - stallsBefore).isEqualTo(1);
    releaseFirst.countDown();
    assertThat(held.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }

  @Test
  void stallWritersTakeEverythingQueuedAndStopAtTheirBound() throws Exception {
    startFake(body -> body.contains("host=held"));
    var s = store(1, null, f -> f.stallWriters = 2);
    long stallsBefore = quickWrites(s, 20);
    List<CompletableFuture<WriteOutcome>> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      held.add(s.write(report("held" + i, 1, now)));
      int n = i + 1;
      // The writer's POST, then one per stall writer, each stalled in turn.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> bodies.stream().filter(b -> b.contains("host=held")).count() == n);
    }
    var waiting = s.write(report("waiting", 1, now));
    // Two stall writers out, both stalled: the fourth report waits for the stall to end.
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(5))
        .until(() -> bodies.stream().noneMatch(b -> b.contains("host=waiting")));
    assertThat(stallWrites() - stallsBefore).isEqualTo(2);
    releaseFirst.countDown();
    assertThat(waiting.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    for (var h : held) assertThat(h.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }

  @Test
  void theFillWaitEndsOnceTheTypicalWriteTimeHasPassed() throws Exception {
    startFake(body -> body.contains("host=held"));
    // A 10 s flushInterval and no stall writer: only the typical write time ends the fill wait.
    var s = store(2, io.dropwizard.util.Duration.seconds(10), f -> f.stallWriters = 0);
    quickWrites(s, 20);
    var held = s.write(report("held", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.getLast().contains("host=held"));
    var next = s.write(report("next", 1, now));
    assertThat(next.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(held).isNotDone();
    releaseFirst.countDown();
    assertThat(held.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }

  @Test
  void withoutAdaptiveFlushTheFillWaitLastsTheFlushInterval() throws Exception {
    startFake(body -> body.contains("host=held"));
    var s =
        store(
            2,
            io.dropwizard.util.Duration.seconds(10),
            f -> {
              f.stallWriters = 0;
              f.adaptiveFlush = false;
            });
    quickWrites(s, 20);
    var held = s.write(report("held", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.getLast().contains("host=held"));
    var next = s.write(report("next", 1, now));
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !next.isDone());
    releaseFirst.countDown();
    assertThat(next.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }

  @Test
  void atSaturationNoStallWriterStartsAndEveryBatchIsFull() throws Exception {
    startFake(body -> body.contains("host=held"));
    // 10 points a report: one report fills a batch, so every report queued is a full batch.
    var s = store(1, null, f -> f.batchSize = 10);
    long stallsBefore = quickWrites(s, 20);
    var held = s.write(report("held", 1, now));
    await().atMost(Duration.ofSeconds(10)).until(() -> bodies.getLast().contains("host=held"));
    int before = bodies.size();
    List<CompletableFuture<WriteOutcome>> queued = new ArrayList<>();
    for (int i = 1; i <= 3; i++) queued.add(s.write(report("h" + i, 1, now)));
    // Full batches queued behind the stalled POST: InfluxDB is behind, more POSTs would not help.
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> bodies.size() == before);
    assertThat(stallWrites() - stallsBefore).isZero();
    releaseFirst.countDown();
    assertThat(held.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    for (var f : queued) assertThat(f.get(5, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(bodies).hasSize(before + 3);
    for (String b : bodies.subList(before, before + 3)) assertThat(b.split("\\n")).hasSize(10);
  }

  @Test
  void noStallWriterStartsWhileAWriteIsRetried() throws Exception {
    startFake(body -> false);
    var s = store(1, null);
    long stallsBefore = quickWrites(s, 20);
    var failing = s.write(report("failing", 1, now));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> bodies.stream().filter(b -> b.contains("host=failing")).count() >= 2);
    var next = s.write(report("next", 1, now));
    // The writer's POST is out far longer than a write takes, but InfluxDB answers 503, not
    // nothing: another POST would only fail too.
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> bodies.stream().noneMatch(b -> b.contains("host=next")));
    assertThat(stallWrites() - stallsBefore).isZero();
    releaseFirst.countDown();
    assertThat(failing.get(10, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
    assertThat(next.get(10, TimeUnit.SECONDS).pointsWritten()).isEqualTo(10);
  }
}

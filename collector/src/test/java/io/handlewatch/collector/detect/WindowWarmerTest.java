package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.UniformReservoir;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoredPoint;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The warm-up against a store behind on its writes: reads go one at a time instead of {@code
 * warmUp.concurrency} at once, and none is skipped; the threshold is a share of ingest's admission
 * budget, not of the whole buffer.
 */
class WindowWarmerTest {

  /** A store whose reads wait until the test lets them go, and which counts them as they run. */
  static final class GatedStore {
    final Semaphore gate = new Semaphore(0);
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger mostAtOnce = new AtomicInteger();
    final AtomicInteger reads = new AtomicInteger();
    final double backlog;

    GatedStore(double backlog) {
      this.backlog = backlog;
    }

    SampleStore store() {
      return (SampleStore)
          Proxy.newProxyInstance(
              SampleStore.class.getClassLoader(),
              new Class<?>[] {SampleStore.class},
              (proxy, method, args) ->
                  switch (method.getName()) {
                    case "writeBacklog" -> backlog;
                    case "history" -> history();
                    case "histories" -> histories((java.util.Collection<?>) args[0]);
                    default -> throw new UnsupportedOperationException(method.getName());
                  });
    }

    private java.util.Map<String, List<StoredPoint>> histories(java.util.Collection<?> hosts) {
      java.util.Map<String, List<StoredPoint>> out = new java.util.HashMap<>();
      for (Object h : hosts) out.put((String) h, history());
      return out;
    }

    private List<StoredPoint> history() {
      int now = running.incrementAndGet();
      mostAtOnce.accumulateAndGet(now, Math::max);
      reads.incrementAndGet();
      try {
        if (!gate.tryAcquire(10, TimeUnit.SECONDS)) throw new AssertionError("read never let go");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      } finally {
        running.decrementAndGet();
      }
      return List.of();
    }
  }

  /**
   * Submits {@code hosts} hosts to a warmer with three threads and lets their reads go one by one.
   * Before each, it waits until every busy warm-up thread is either in a read or waiting for the
   * paced slot, so that reads which may run at once all have.
   */
  private static List<WindowWarmer.Warmth> warm(GatedStore store, Counter paced, int hosts)
      throws Exception {
    DetectionFactory config = new DetectionFactory();
    config.warmUp.concurrency = 3;
    // One host per read: what is measured here is how many reads run at once.
    config.warmUp.batchHosts = 1;
    LinkedBlockingQueue<WindowWarmer.Warmth> done = new LinkedBlockingQueue<>();
    try (WindowWarmer warmer =
        new WindowWarmer(
            store.store(), config, 0.5, paced, new Histogram(new UniformReservoir()))) {
      for (int i = 0; i < hosts; i++) {
        assertThat(warmer.submit("h" + i, Instant.parse("2026-01-01T00:00:00Z"), done::add))
            .isTrue();
      }
      List<WindowWarmer.Warmth> all = new ArrayList<>();
      for (int i = 0; i < hosts; i++) {
        int left = hosts - i;
        int busy = Math.min(3, left);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (warmer.waiting() != left - busy
            || store.running.get() + warmer.pacedWaiting() < busy
            || store.running.get() == 0) {
          if (System.nanoTime() > deadline) throw new AssertionError("warm-up threads not busy");
          Thread.sleep(1); // polling the warm-up threads with a deadline
        }
        store.gate.release();
        WindowWarmer.Warmth w = done.poll(10, TimeUnit.SECONDS);
        assertThat(w).as("warmth %d", i).isNotNull();
        all.add(w);
      }
      return all;
    }
  }

  @Test
  void aStoreBehindOnItsWritesGetsOneReadAtATimeAndEveryHostIsStillRead() throws Exception {
    // Half the buffer waiting: all of the admission budget (half the buffer) is in use.
    GatedStore behind = new GatedStore(0.5);
    Counter paced = new Counter();
    List<WindowWarmer.Warmth> warmths = warm(behind, paced, 6);
    assertThat(warmths).noneMatch(WindowWarmer.Warmth::failed);
    assertThat(behind.reads).hasValue(6);
    assertThat(behind.mostAtOnce).as("reads at once while behind").hasValue(1);
    assertThat(paced.getCount()).isEqualTo(6);
  }

  @Test
  void belowThePaceThresholdReadsGoConcurrently() throws Exception {
    // A fifth of the buffer is 40 % of the budget: below warmUp.paceAbove (50 % of it).
    GatedStore keepingUp = new GatedStore(0.2);
    Counter paced = new Counter();
    List<WindowWarmer.Warmth> warmths = warm(keepingUp, paced, 6);
    assertThat(warmths).noneMatch(WindowWarmer.Warmth::failed);
    assertThat(keepingUp.mostAtOnce).as("reads at once").hasValue(3);
    assertThat(paced.getCount()).isZero();
  }

  @Test
  void hostsWaitingTogetherAreReadTogetherEachWithItsOwnWindow() throws Exception {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    var memory =
        new io.handlewatch.collector.store.memory.MemoryStore(
            64L << 20,
            java.time.Duration.ofHours(1),
            java.time.Clock.fixed(t.plusSeconds(300), java.time.ZoneOffset.UTC),
            new com.codahale.metrics.MetricRegistry());
    int hosts = 250;
    for (int h = 0; h < hosts; h++) {
      for (int k = 0; k < 10; k++) {
        memory
            .write(io.handlewatch.collector.testing.TestReports.report("h" + h, k + 1, at(t, k)))
            .get(10, TimeUnit.SECONDS);
      }
    }
    // The first read waits until every other host has been submitted behind it.
    java.util.concurrent.CountDownLatch inFirstRead = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
    List<Integer> reads = java.util.Collections.synchronizedList(new ArrayList<>());
    SampleStore gated =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("histories")) {
                    reads.add(((java.util.Collection<?>) args[0]).size());
                    if (reads.size() == 1) {
                      inFirstRead.countDown();
                      assertThat(letGo.await(10, TimeUnit.SECONDS)).isTrue();
                    }
                  }
                  return method.invoke(memory, args);
                });
    DetectionFactory config = new DetectionFactory();
    config.warmUp.concurrency = 1;
    config.window = io.dropwizard.util.Duration.seconds(30);
    config.quietPeriod = io.dropwizard.util.Duration.seconds(30);
    Histogram batches = new Histogram(new UniformReservoir());
    LinkedBlockingQueue<WindowWarmer.Warmth> done = new LinkedBlockingQueue<>();
    try (WindowWarmer warmer = new WindowWarmer(gated, config, 1.0, new Counter(), batches)) {
      // Each host is new at its own time, so the batch spans several windows.
      assertThat(warmer.submit("h0", at(t, 4), done::add)).isTrue();
      assertThat(inFirstRead.await(10, TimeUnit.SECONDS)).isTrue();
      for (int h = 1; h < hosts; h++) {
        assertThat(warmer.submit("h" + h, at(t, 4 + h % 5), done::add)).isTrue();
      }
      letGo.countDown();
      java.util.Map<String, WindowWarmer.Warmth> byHost = new java.util.HashMap<>();
      for (int i = 0; i < hosts; i++) {
        WindowWarmer.Warmth w = done.poll(10, TimeUnit.SECONDS);
        assertThat(w).as("warmth %d", i).isNotNull();
        byHost.put(w.host(), w);
      }
      assertThat(reads).as("hosts per read").containsExactly(1, 100, 100, 49);
      assertThat(batches.getCount()).isEqualTo(4);
      for (int h = 0; h < hosts; h++) {
        WindowWarmer.Warmth w = byHost.get("h" + h);
        assertThat(w.failed()).as("h%d failed: %s", h, w.failure()).isFalse();
        // Its own 30 s before its own first report: the three reports before it, no other host's.
        int first = h == 0 ? 4 : 4 + h % 5;
        assertThat(w.history())
            .as("h%d", h)
            .extracting(io.handlewatch.collector.store.ReportPoints::timeOf)
            .containsExactly(at(t, first - 3), at(t, first - 2), at(t, first - 1));
        assertThat(w.history())
            .extracting(r -> r.getSample().getHost().getHostname())
            .containsOnly("h" + h);
      }
    }
  }

  @Test
  void aReadAnsweringAfterTheTimeoutReachesTheLateConsumerOnceAndOneTooLateSaysWhy()
      throws Exception {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    var memory =
        new io.handlewatch.collector.store.memory.MemoryStore(
            64L << 20,
            java.time.Duration.ofHours(1),
            java.time.Clock.fixed(t.plusSeconds(300), java.time.ZoneOffset.UTC),
            new com.codahale.metrics.MetricRegistry());
    for (int k = 0; k < 10; k++) {
      memory
          .write(io.handlewatch.collector.testing.TestReports.report("h0", k + 1, at(t, k)))
          .get(10, TimeUnit.SECONDS);
    }
    java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
    SampleStore gated =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("histories")) {
                    assertThat(letGo.await(10, TimeUnit.SECONDS)).isTrue();
                  }
                  return method.invoke(memory, args);
                });
    DetectionFactory config = new DetectionFactory();
    config.warmUp.concurrency = 1;
    config.warmUp.timeout = io.dropwizard.util.Duration.milliseconds(200);
    config.warmUp.lateFor = io.dropwizard.util.Duration.milliseconds(400);
    LinkedBlockingQueue<WindowWarmer.Warmth> done = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<WindowWarmer.Warmth> late = new LinkedBlockingQueue<>();
    try (WindowWarmer warmer =
        new WindowWarmer(
            gated, config, 1.0, new Counter(), new Histogram(new UniformReservoir()))) {
      assertThat(warmer.submit("h0", at(t, 5), done::add, late::add)).isTrue();
      // Queued behind h0's read, which the test holds past h1's timeout and lateFor.
      while (warmer.waiting() > 0) Thread.sleep(1); // until h0's read has begun
      assertThat(warmer.submit("h1", at(t, 5), done::add, late::add)).isTrue();
      WindowWarmer.Warmth first = done.poll(10, TimeUnit.SECONDS);
      WindowWarmer.Warmth second = done.poll(10, TimeUnit.SECONDS);
      assertThat(List.of(first, second))
          .allSatisfy(
              w -> {
                assertThat(w.failed()).isTrue();
                assertThat(w.lateToCome()).as("the read goes on").isTrue();
                assertThat(w.failure()).contains("detection.warmUp.timeout");
              });
      Thread.sleep(700); // past h1's timeout and lateFor: the reader must drop it, saying why
      letGo.countDown();
      java.util.Map<String, WindowWarmer.Warmth> byHost = new java.util.HashMap<>();
      for (int i = 0; i < 2; i++) {
        WindowWarmer.Warmth w = late.poll(10, TimeUnit.SECONDS);
        assertThat(w).as("late answer %d", i).isNotNull();
        byHost.put(w.host(), w);
      }
      assertThat(byHost.get("h0").failed()).isFalse();
      assertThat(byHost.get("h0").history())
          .extracting(io.handlewatch.collector.store.ReportPoints::timeOf)
          .containsExactly(at(t, 0), at(t, 1), at(t, 2), at(t, 3), at(t, 4));
      assertThat(byHost.get("h1").failed()).isTrue();
      assertThat(byHost.get("h1").failure()).contains("lateFor");
      assertThat(late.poll(300, TimeUnit.MILLISECONDS)).as("once per host").isNull();
      assertThat(done).isEmpty();
    }
  }

  @Test
  void whenReadsFallBehindTheNewestHostsAreReadFirst() throws Exception {
    java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
    List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
    SampleStore gated =
        (SampleStore)
            Proxy.newProxyInstance(
                SampleStore.class.getClassLoader(),
                new Class<?>[] {SampleStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("writeBacklog")) return 0.0;
                  java.util.Map<String, List<StoredPoint>> out = new java.util.HashMap<>();
                  for (Object h : (java.util.Collection<?>) args[0]) {
                    order.add((String) h);
                    out.put((String) h, List.of());
                  }
                  assertThat(letGo.await(10, TimeUnit.SECONDS)).isTrue();
                  return out;
                });
    DetectionFactory config = new DetectionFactory();
    config.warmUp.concurrency = 1;
    config.warmUp.batchHosts = 2;
    LinkedBlockingQueue<WindowWarmer.Warmth> done = new LinkedBlockingQueue<>();
    try (WindowWarmer warmer =
        new WindowWarmer(
            gated, config, 1.0, new Counter(), new Histogram(new UniformReservoir()))) {
      Instant at = Instant.parse("2026-01-01T00:00:00Z");
      assertThat(warmer.submit("h0", at, done::add)).isTrue();
      while (order.isEmpty()) Thread.sleep(1); // until h0's read has begun
      for (int h = 1; h <= 5; h++) assertThat(warmer.submit("h" + h, at, done::add)).isTrue();
      letGo.countDown();
      for (int i = 0; i < 6; i++) assertThat(done.poll(10, TimeUnit.SECONDS)).isNotNull();
      // The newest two first, then the next two; the oldest last.
      assertThat(order).containsExactly("h0", "h5", "h4", "h3", "h2", "h1");
    }
  }

  /** Report k of a host (seq k + 1), every 10 s from {@code t}. */
  private static Instant at(Instant t, int k) {
    return t.plusSeconds(10L * k);
  }
}

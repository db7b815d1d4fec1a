package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.Counter;
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
                    default -> throw new UnsupportedOperationException(method.getName());
                  });
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
    LinkedBlockingQueue<WindowWarmer.Warmth> done = new LinkedBlockingQueue<>();
    try (WindowWarmer warmer = new WindowWarmer(store.store(), config, 0.5, paced)) {
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
}

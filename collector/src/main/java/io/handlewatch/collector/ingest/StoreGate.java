package io.handlewatch.collector.ingest;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backpressure from the store to the agents. While more than {@code closeAbove} of the store's
 * write buffer waits ({@link io.handlewatch.collector.store.SampleStore#writeBacklog}), streams ask
 * gRPC for no further reports: they park here, HTTP/2 flow control fills, and agents keep their
 * reports in their spools. Below {@code openBelow} the parked streams are resumed, oldest first,
 * for as long as the store keeps up.
 *
 * <p>Without it a slow store was met by a full buffer, and a full buffer by failing streams: every
 * report in flight on them was sent again after the agent's reconnect, and at 10,000 agents the
 * resending outgrew what the store could write.
 */
final class StoreGate implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StoreGate.class);

  private final DoubleSupplier backlog;
  private final double closeAbove;
  private final double openBelow;
  private final ConcurrentLinkedQueue<Runnable> parked = new ConcurrentLinkedQueue<>();
  private final AtomicInteger parkedCount = new AtomicInteger();
  private final ScheduledExecutorService timer;
  private volatile boolean open = true;

  /**
   * @param backlog the store's write backlog, 0 to 1
   * @param closeAbove hold streams back above this backlog; 1 or more: never
   * @param every how often parked streams are looked at
   */
  StoreGate(DoubleSupplier backlog, double closeAbove, Duration every) {
    this.backlog = backlog;
    this.closeAbove = closeAbove;
    this.openBelow = closeAbove / 2;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("handlewatch-store-gate").daemon(true).unstarted(r));
    timer.scheduleWithFixedDelay(
        this::resumeParked, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Whether streams may ask for more reports now; closes and opens with hysteresis. */
  boolean isOpen() {
    double b = backlog.getAsDouble();
    if (open && b > closeAbove) {
      synchronized (this) {
        if (open) {
          open = false;
          log.warn(
              "store behind on its writes ({}% of its buffer waiting): holding agents back through"
                  + " flow control until it is below {}%",
              Math.round(b * 100), Math.round(openBelow * 100));
        }
      }
    } else if (!open && b < openBelow) {
      synchronized (this) {
        if (!open) {
          open = true;
          log.info(
              "store caught up ({}% of its buffer waiting): resuming {} held streams",
              Math.round(b * 100), parkedCount.get());
        }
      }
    }
    return open;
  }

  /** Runs {@code resume} once the gate is open (on the gate's thread). */
  void park(Runnable resume) {
    parked.add(resume);
    parkedCount.incrementAndGet();
  }

  /** Streams waiting for the store. */
  int parked() {
    return parkedCount.get();
  }

  private void resumeParked() {
    try {
      while (!parked.isEmpty() && isOpen()) {
        Runnable r = parked.poll();
        if (r == null) return;
        parkedCount.decrementAndGet();
        r.run();
      }
    } catch (RuntimeException e) {
      // A stream that cannot be resumed must not stop the others from being resumed.
      log.error("resuming a held stream failed; the others go on", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}

package io.handlewatch.collector.detect;

import com.codahale.metrics.Counter;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.StoredReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Reads from the store what a collector needs to take over a host it gains: the host's last window
 * of samples and its verdict points of the last quiet period (the incidents open on it), in one
 * read, on a few threads of its own so that the detector thread never waits for the store. Bounded:
 * {@code warmUp.concurrency} reads at once, {@code warmUp.maxWaiting} hosts waiting, {@code
 * warmUp.timeout} per host from its submission, and one read at a time while the store is behind on
 * its writes ({@code warmUp.paceAbove} of ingest's admission budget waiting). Every accepted host
 * gets exactly one {@link Warmth}: its history, or why there is none.
 *
 * <p>A busy store paces the reads instead of skipping them: ingest's admission budget already keeps
 * the writes from overfilling the store's buffer, and the backlog it allows is exactly what a fleet
 * reconnecting after a collector restart builds, so skipping there would start every host cold just
 * when they all arrive.
 */
final class WindowWarmer implements AutoCloseable {

  /**
   * What the store told about one host.
   *
   * @param history its reports of the last window, oldest first
   * @param incidents the incidents open on it
   * @param unreadable verdict points whose incident field did not parse (skipped)
   * @param failure why the store could not answer; null when it did
   * @param took how long the read took
   */
  record Warmth(
      String host,
      List<HostReport> history,
      List<AlertBook.Inherited> incidents,
      int unreadable,
      String failure,
      Duration took) {
    boolean failed() {
      return failure != null;
    }
  }

  private final SampleStore store;
  private final Duration window;
  private final Duration quiet;
  private final Duration timeout;

  /** {@code warmUp.paceAbove} as a share of the store's write buffer. */
  private final double paceAbove;

  /** The one read slot while the store is behind: reads then go one at a time, in turn. */
  private final Semaphore behindSlot = new Semaphore(1, true);

  private final Counter paced;
  private final ThreadPoolExecutor executor;
  private final Set<String> measurements = new HashSet<>(StoredReports.MEASUREMENTS);

  /**
   * @param admissionShare the share of the store's write buffer ingest's admission budget may fill
   *     (1 for a store without a buffer)
   * @param paced counts reads that started while the store was behind
   */
  WindowWarmer(SampleStore store, DetectionFactory config, double admissionShare, Counter paced) {
    this.store = store;
    this.paced = paced;
    this.window = Duration.ofMillis(config.window.toMilliseconds());
    this.quiet = Duration.ofMillis(config.quietPeriod.toMilliseconds());
    this.timeout = Duration.ofMillis(config.warmUp.timeout.toMilliseconds());
    this.paceAbove = config.warmUp.paceAbove * admissionShare;
    measurements.add("verdict");
    AtomicInteger n = new AtomicInteger();
    int threads = config.warmUp.concurrency;
    this.executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(config.warmUp.maxWaiting),
            r ->
                Thread.ofPlatform()
                    .daemon()
                    .name("detector-warmup-" + n.incrementAndGet())
                    .unstarted(r));
  }

  /**
   * Reads the history of {@code host} before {@code at} and hands it to {@code done} (on a warm-up
   * thread); false, without calling {@code done}, when too many hosts wait already.
   */
  boolean submit(String host, Instant at, Consumer<Warmth> done) {
    long start = System.nanoTime();
    CompletableFuture<Warmth> warmth = new CompletableFuture<>();
    try {
      executor.execute(
          () -> {
            // Timed out while it waited its turn: the host has started cold, the read would only
            // load the store.
            if (warmth.isDone()) return;
            try {
              warmth.complete(read(host, at, start));
            } catch (RuntimeException e) {
              warmth.completeExceptionally(e);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              warmth.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException full) {
      return false;
    }
    warmth
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((w, e) -> e == null ? w : failed(host, start, describe(e)))
        .thenAccept(done);
    return true;
  }

  private Warmth read(String host, Instant at, long start) throws InterruptedException {
    double backlog = store.writeBacklog();
    if (backlog <= paceAbove) return query(host, at, start);
    paced.inc();
    long left = timeout.toNanos() - (System.nanoTime() - start);
    if (!behindSlot.tryAcquire(Math.max(0, left), TimeUnit.NANOSECONDS)) {
      return failed(
          host,
          start,
          String.format(
              "no answer within detection.warmUp.timeout (%s): the store was behind on its writes"
                  + " (%.0f%% of its buffer waiting) and the reads went one at a time",
              timeout, backlog * 100));
    }
    try {
      return query(host, at, start);
    } finally {
      behindSlot.release();
    }
  }

  private Warmth query(String host, Instant at, long start) {
    Duration back = window.compareTo(quiet) >= 0 ? window : quiet;
    List<StoredPoint> points;
    try {
      points = store.history(host, measurements, at.minus(back), at.minusMillis(1));
    } catch (io.handlewatch.collector.store.StoreException e) {
      return failed(host, start, e.getMessage());
    }
    StoredIncidents.Found open = StoredIncidents.open(points, at, quiet);
    return new Warmth(
        host,
        StoredReports.of(host, points),
        open.incidents(),
        open.unreadable(),
        null,
        Duration.ofNanos(System.nanoTime() - start));
  }

  private String describe(Throwable e) {
    if (e instanceof CompletionException c && c.getCause() != null) e = c.getCause();
    return e instanceof TimeoutException
        ? "no answer within detection.warmUp.timeout (" + timeout + ")"
        : e.toString();
  }

  private static Warmth failed(String host, long start, String why) {
    return new Warmth(
        host, List.of(), List.of(), 0, why, Duration.ofNanos(System.nanoTime() - start));
  }

  /** Reads waiting for the paced slot (an estimate while threads come and go). */
  int pacedWaiting() {
    return behindSlot.getQueueLength();
  }

  /** Hosts waiting for a read. */
  int waiting() {
    return executor.getQueue().size();
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}

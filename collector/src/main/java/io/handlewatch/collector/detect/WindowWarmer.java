package io.handlewatch.collector.detect;

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
 * warmUp.timeout} per read, and no read while the store is behind on its writes ({@code
 * warmUp.maxStoreBacklog}). Every accepted host gets exactly one {@link Warmth}: its history, or
 * why there is none.
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
  private final double maxStoreBacklog;
  private final ThreadPoolExecutor executor;
  private final Set<String> measurements = new HashSet<>(StoredReports.MEASUREMENTS);

  WindowWarmer(SampleStore store, DetectionFactory config) {
    this.store = store;
    this.window = Duration.ofMillis(config.window.toMilliseconds());
    this.quiet = Duration.ofMillis(config.quietPeriod.toMilliseconds());
    this.timeout = Duration.ofMillis(config.warmUp.timeout.toMilliseconds());
    this.maxStoreBacklog = config.warmUp.maxStoreBacklog;
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
    try {
      CompletableFuture.supplyAsync(() -> read(host, at, start), executor)
          .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .handle(
              (w, e) ->
                  e == null
                      ? w
                      : failed(
                          host,
                          start,
                          describe(
                              e instanceof CompletionException c && c.getCause() != null
                                  ? c.getCause()
                                  : e)))
          .thenAccept(done);
      return true;
    } catch (RejectedExecutionException full) {
      return false;
    }
  }

  private Warmth read(String host, Instant at, long start) {
    double backlog = store.writeBacklog();
    if (backlog > maxStoreBacklog) {
      return failed(
          host,
          start,
          String.format(
              "the store is behind on its writes (%.0f%% of its buffer waiting, more than"
                  + " detection.warmUp.maxStoreBacklog): writes come first",
              backlog * 100));
    }
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
    return e instanceof TimeoutException
        ? "no answer within detection.warmUp.timeout (" + timeout + ")"
        : e.toString();
  }

  private static Warmth failed(String host, long start, String why) {
    return new Warmth(
        host, List.of(), List.of(), 0, why, Duration.ofNanos(System.nanoTime() - start));
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

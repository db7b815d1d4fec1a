package io.handlewatch.collector.detect;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Histogram;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.StoredReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Reads from the store what a collector needs to take over a host it gains: the host's last window
 * of samples and its verdict points of the last quiet period (the incidents open on it), in one
 * read, on a few threads of its own so that the detector thread never waits for the store. Hosts
 * waiting together are read together, up to {@code warmUp.batchHosts} in one store read. Bounded:
 * {@code warmUp.concurrency} reads at once, {@code warmUp.maxWaiting} hosts waiting, {@code
 * warmUp.timeout} per host from its submission, and one read at a time while the store is behind on
 * its writes ({@code warmUp.paceAbove} of ingest's admission budget waiting). Every accepted host
 * gets exactly one {@link Warmth}: its history, or why there is none.
 *
 * <p>A read that does not answer within the timeout goes on, for {@code warmUp.lateFor} more: the
 * host starts cold at its timeout, and when the read answers its history still reaches the caller,
 * once, through the {@code late} consumer (or why it did not). The caller merges it before the
 * reports it judged meanwhile, so a host is cold only while its read takes, not for its whole
 * history: on a store that reads back a fleet more slowly than the timeout (InfluxDB on a busy core
 * after a collector restart), every host is warmed, the last ones late.
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
   * @param lateToCome a timeout whose read goes on: its answer follows through {@code late}
   */
  record Warmth(
      String host,
      List<HostReport> history,
      List<AlertBook.Inherited> incidents,
      int unreadable,
      String failure,
      Duration took,
      boolean lateToCome) {
    boolean failed() {
      return failure != null;
    }
  }

  /** A host waiting for its read. */
  private record Ask(
      String host,
      Instant at,
      long start,
      CompletableFuture<Warmth> warmth,
      Consumer<Warmth> late) {}

  private final SampleStore store;
  private final Duration window;
  private final Duration quiet;
  private final Duration timeout;
  private final Duration lateFor;
  private final int batchHosts;

  /** {@code warmUp.paceAbove} as a share of the store's write buffer. */
  private final double paceAbove;

  /** The one read slot while the store is behind: reads then go one at a time, in turn. */
  private final Semaphore behindSlot = new Semaphore(1, true);

  private final Counter paced;
  private final Histogram batches;

  /** Hosts waiting, newest last: readers take the newest first. */
  private final LinkedBlockingDeque<Ask> asks;

  private final List<Thread> readers = new ArrayList<>();
  private final Set<String> measurements = new HashSet<>(StoredReports.MEASUREMENTS);

  /**
   * @param admissionShare the share of the store's write buffer ingest's admission budget may fill
   *     (1 for a store without a buffer)
   * @param paced counts reads that started while the store was behind
   * @param batches the hosts of each read
   */
  WindowWarmer(
      SampleStore store,
      DetectionFactory config,
      double admissionShare,
      Counter paced,
      Histogram batches) {
    this.store = store;
    this.paced = paced;
    this.batches = batches;
    this.window = Duration.ofMillis(config.window.toMilliseconds());
    this.quiet = Duration.ofMillis(config.quietPeriod.toMilliseconds());
    this.timeout = Duration.ofMillis(config.warmUp.timeout.toMilliseconds());
    this.lateFor = Duration.ofMillis(config.warmUp.lateFor.toMilliseconds());
    this.batchHosts = config.warmUp.batchHosts;
    this.paceAbove = config.warmUp.paceAbove * admissionShare;
    this.asks = new LinkedBlockingDeque<>(config.warmUp.maxWaiting);
    measurements.add("verdict");
    for (int i = 1; i <= config.warmUp.concurrency; i++) {
      readers.add(Thread.ofPlatform().daemon().name("detector-warmup-" + i).start(this::readLoop));
    }
  }

  /**
   * Reads the history of {@code host} before {@code at} and hands it to {@code done} (on a warm-up
   * thread); false, without calling {@code done}, when too many hosts wait already.
   */
  boolean submit(String host, Instant at, Consumer<Warmth> done) {
    return submit(host, at, done, null);
  }

  /**
   * {@link #submit(String, Instant, Consumer)}, and a read that answers after the timeout (within
   * {@code warmUp.lateFor}) hands its answer to {@code late}: exactly once for every host whose
   * {@code done} said {@link Warmth#lateToCome}, never otherwise. Null, or {@code lateFor} zero: a
   * timed-out host is not read any more.
   */
  boolean submit(String host, Instant at, Consumer<Warmth> done, Consumer<Warmth> late) {
    long start = System.nanoTime();
    CompletableFuture<Warmth> warmth = new CompletableFuture<>();
    Consumer<Warmth> after = lateFor.isZero() ? null : late;
    if (!asks.offer(new Ask(host, at, start, warmth, after))) return false;
    warmth
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (w, e) ->
                e == null
                    ? w
                    : failed(
                        host,
                        start,
                        describe(e),
                        after != null && unwrap(e) instanceof TimeoutException))
        .thenAccept(done);
    return true;
  }

  /** When a host's read is of no use any more: its timeout, or its late answer's end. */
  private long deadline(Ask a) {
    return a.start() + timeout.toNanos() + (a.late() == null ? 0 : lateFor.toNanos());
  }

  /**
   * Hands a host its read: to {@code done} if it has not timed out, else to {@code late}. Each ask
   * is finished once, by the one reader that took it.
   */
  private static void finish(Ask a, Warmth w) {
    if (!a.warmth().complete(w) && a.late() != null) a.late().accept(w);
  }

  /**
   * One reader: takes every host waiting, up to {@code warmUp.batchHosts}, and reads them in one
   * store read. Hosts arriving one by one are read one by one; a fleet arriving at once is read a
   * batch at a time, so the reads keep up with thousands of hosts where one read per host could not
   * (the store's cost per read, not per host, is what a cold collector pays).
   */
  private void readLoop() {
    List<Ask> batch = new ArrayList<>(batchHosts);
    while (!Thread.currentThread().isInterrupted()) {
      batch.clear();
      try {
        // Newest first: while reads keep up the order does not matter; once they fall behind (a
        // fleet arriving at a cold collector), the newest hosts can still be read within their
        // timeout, while the oldest are cold already and only wait for a late merge. Oldest
        // first would make every host late, one behind the other.
        batch.add(asks.takeLast());
        for (Ask a; batch.size() < batchHosts && (a = asks.pollLast()) != null; ) batch.add(a);
        // Past their deadline while they waited their turn: those hosts have started cold for
        // good, reading them would only load the store.
        dropExpired(batch);
        // The oldest, past their deadline, are at the other end: let go of them now rather than
        // when the newest are all read, so they do not hold places of maxWaiting.
        purgeExpired();
        if (batch.isEmpty()) continue;
        read(batch);
      } catch (InterruptedException e) {
        for (Ask a : batch) a.warmth().completeExceptionally(e);
        return;
      } catch (RuntimeException e) {
        // One bad answer must not end the warm-up: these hosts start cold, saying why.
        for (Ask a : batch) finish(a, failed(a.host(), a.start(), e.toString(), false));
      }
    }
  }

  private void purgeExpired() {
    long now = System.nanoTime();
    for (java.util.Iterator<Ask> it = asks.iterator(); it.hasNext(); ) {
      Ask a = it.next();
      // remove() is true for one reader only: each host is finished once.
      if (now - deadline(a) >= 0 && asks.remove(a)) expire(a);
    }
  }

  private void dropExpired(List<Ask> batch) {
    long now = System.nanoTime();
    batch.removeIf(
        a -> {
          if (now - deadline(a) < 0) return false;
          expire(a);
          return true;
        });
  }

  private void expire(Ask a) {
    String why =
        a.late() == null
            ? "no answer within detection.warmUp.timeout (" + timeout + ")"
            : "not read within detection.warmUp.timeout and lateFor ("
                + timeout
                + " + "
                + lateFor
                + ")";
    finish(a, failed(a.host(), a.start(), why, false));
  }

  private void read(List<Ask> batch) throws InterruptedException {
    double backlog = store.writeBacklog();
    if (backlog <= paceAbove) {
      query(batch);
      return;
    }
    paced.inc();
    // Wait as long as the newest host of the batch may; the older ones start cold at their own
    // deadline meanwhile and are left out of the read.
    long left = 0;
    long now = System.nanoTime();
    for (Ask a : batch) left = Math.max(left, deadline(a) - now);
    if (!behindSlot.tryAcquire(Math.max(0, left), TimeUnit.NANOSECONDS)) {
      String why =
          String.format(
              "no answer within detection.warmUp.timeout (%s): the store was behind on its writes"
                  + " (%.0f%% of its buffer waiting) and the reads went one at a time",
              timeout, backlog * 100);
      for (Ask a : batch) finish(a, failed(a.host(), a.start(), why, false));
      return;
    }
    try {
      dropExpired(batch);
      if (!batch.isEmpty()) query(batch);
    } finally {
      behindSlot.release();
    }
  }

  /**
   * One store read for the batch, over the span of all their ranges; each host then keeps exactly
   * its own range, so it gets what a read of its own would have given.
   */
  private void query(List<Ask> batch) {
    Duration back = window.compareTo(quiet) >= 0 ? window : quiet;
    Instant from = null;
    Instant to = null;
    Set<String> hosts = new java.util.LinkedHashSet<>();
    for (Ask a : batch) {
      hosts.add(a.host());
      Instant f = a.at().minus(back);
      Instant t = a.at().minusMillis(1);
      if (from == null || f.isBefore(from)) from = f;
      if (to == null || t.isAfter(to)) to = t;
    }
    batches.update(hosts.size());
    Map<String, List<StoredPoint>> read;
    try {
      read = store.histories(hosts, measurements, from, to);
    } catch (io.handlewatch.collector.store.StoreException e) {
      for (Ask a : batch) finish(a, failed(a.host(), a.start(), e.getMessage(), false));
      return;
    }
    for (Ask a : batch) {
      long lo = a.at().minus(back).toEpochMilli();
      long hi = a.at().toEpochMilli() - 1;
      List<StoredPoint> points = new ArrayList<>();
      for (StoredPoint p : read.getOrDefault(a.host(), List.of())) {
        long t = p.time().toEpochMilli();
        if (t >= lo && t <= hi) points.add(p);
      }
      StoredIncidents.Found open = StoredIncidents.open(points, a.at(), quiet);
      finish(
          a,
          new Warmth(
              a.host(),
              StoredReports.of(a.host(), points),
              open.incidents(),
              open.unreadable(),
              null,
              Duration.ofNanos(System.nanoTime() - a.start()),
              false));
    }
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException c && c.getCause() != null ? c.getCause() : e;
  }

  private String describe(Throwable e) {
    e = unwrap(e);
    return e instanceof TimeoutException
        ? "no answer within detection.warmUp.timeout (" + timeout + ")"
        : e.toString();
  }

  private static Warmth failed(String host, long start, String why, boolean lateToCome) {
    return new Warmth(
        host,
        List.of(),
        List.of(),
        0,
        why,
        Duration.ofNanos(System.nanoTime() - start),
        lateToCome);
  }

  /** Reads waiting for the paced slot (an estimate while threads come and go). */
  int pacedWaiting() {
    return behindSlot.getQueueLength();
  }

  /** Hosts waiting for a read. */
  int waiting() {
    return asks.size();
  }

  @Override
  public void close() {
    for (Thread t : readers) t.interrupt();
  }
}

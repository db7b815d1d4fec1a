package io.handlewatch.collector.ingest;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one in-flight budget every stream shares, in stored points: a report goes to the store only
 * once it holds credit for all its points, and gives the credit back when the store has answered.
 * So the points ingest has handed to the store and not yet seen settled never exceed {@link
 * #capacity()}, however many agents are connected; sized below the store's write buffer, that
 * buffer cannot be overfilled by ingest.
 *
 * <p>Per-stream windows could not promise this: each window is small, but ten thousand of them are
 * not. A report that finds too little credit waits, and its stream reads nothing more meanwhile, so
 * HTTP/2 flow control holds its agent back. Each stream has at most one report waiting here (its
 * next), so first come first served is a round robin over the streams.
 *
 * <p>A stream's first report waits in a queue of its own, served before the others: when the store
 * takes less than the fleet sends, the streams already in always have a report waiting, and a
 * stream that opens then would otherwise only ever queue behind all of them, or, deferred each time
 * it came back while anything waited, never get in at all (an agent whose stream the store ended
 * before its first ack stayed unacknowledged for the rest of a run). A stream that opens is told to
 * come back later ({@link #retryDelay}) only while the first reports already waiting are more than
 * the store settles in {@link #NEWCOMERS_FOR}; the streams already in are slowed for it, not ended.
 */
final class AdmissionBudget {
  private static final Logger log = LoggerFactory.getLogger(AdmissionBudget.class);

  /** A report waiting for credit: how much it needs and what to run once it has it. */
  private record Waiter(long points, Runnable granted) {}

  private final long capacity;
  private final LongSupplier nanoTime;

  /**
   * First reports of streams waiting for credit may amount to what the store settles in this long
   * before streams that open are deferred: the retry delay's floor, so a deferred agent coming back
   * finds the newcomers ahead of it mostly gone.
   */
  static final Duration NEWCOMERS_FOR = Duration.ofSeconds(1);

  /**
   * Requests waiting for credit, oldest first, and the points they need together. Guarded by the
   * budget's lock.
   */
  private static final class Line {
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long points;

    void add(Waiter w) {
      waiters.addLast(w);
      points += w.points();
    }

    /** The oldest request, taken off the line if its points {@code fit}; otherwise null. */
    Waiter pollIf(LongPredicate fit) {
      Waiter w = waiters.peekFirst();
      if (w == null || !fit.test(w.points())) return null;
      waiters.pollFirst();
      points -= w.points();
      return w;
    }

    /** Takes {@code granted}'s request off the line: whether it was there. */
    boolean remove(Runnable granted) {
      for (var it = waiters.iterator(); it.hasNext(); ) {
        Waiter w = it.next();
        if (w.granted() == granted) {
          it.remove();
          points -= w.points();
          return true;
        }
      }
      return false;
    }

    boolean isEmpty() {
      return waiters.isEmpty();
    }

    int size() {
      return waiters.size();
    }
  }

  private final Line waiters = new Line();

  /** Streams' first reports waiting for credit: served before {@link #waiters}. */
  private final Line newcomers = new Line();

  private long inUse;

  // Points given back, for the drain rate: the total, and the total at the last look.
  private long givenBack;
  private long rateAtNanos;
  private long rateAtGivenBack;
  private double pointsPerSecond;

  AdmissionBudget(long capacity, LongSupplier nanoTime) {
    if (capacity < 1) throw new IllegalArgumentException("capacity must be positive: " + capacity);
    this.capacity = capacity;
    this.nanoTime = nanoTime;
    this.rateAtNanos = nanoTime.getAsLong();
  }

  long capacity() {
    return capacity;
  }

  synchronized long inUse() {
    return inUse;
  }

  /** Reports waiting for credit, first reports included. */
  synchronized int waiting() {
    return waiters.size() + newcomers.size();
  }

  /** Points the waiting reports need, first reports included. */
  synchronized long waitingPoints() {
    return waiters.points + newcomers.points;
  }

  /** Streams' first reports waiting for credit. */
  synchronized int newcomersWaiting() {
    return newcomers.size();
  }

  /** A report that is not its stream's first: see {@link #take(long, boolean, Runnable)}. */
  boolean take(long points, Runnable granted) {
    return take(points, false, granted);
  }

  /**
   * Takes {@code points} of credit now if there is room and nobody queues ahead; otherwise queues
   * the request, and {@code granted} runs (on the thread that gives credit back) once it is taken.
   * A stream's {@code first} report queues ahead of every other stream's next one. A report larger
   * than the whole budget is admitted alone, when nothing else is in flight.
   *
   * @return true if the credit was taken now ({@code granted} is then not run)
   */
  boolean take(long points, boolean first, Runnable granted) {
    synchronized (this) {
      boolean ahead = !newcomers.isEmpty() || (!first && !waiters.isEmpty());
      if (!ahead && fits(points)) {
        inUse += points;
        return true;
      }
      (first ? newcomers : waiters).add(new Waiter(points, granted));
      return false;
    }
  }

  /** Whether the budget is oversubscribed: reports wait for credit. */
  synchronized boolean oversubscribed() {
    return !waiters.isEmpty() || !newcomers.isEmpty();
  }

  /**
   * Whether a stream that opens now may come in: its first report would queue behind the first
   * reports already waiting, and those may be at most what the store settles in {@link
   * #NEWCOMERS_FOR} (none while that rate is unknown). The other streams' waiting reports do not
   * count: the newcomer goes ahead of them.
   */
  boolean admitsNewStream() {
    double rate = drainRate();
    synchronized (this) {
      return newcomers.points == 0 || newcomers.points <= rate * NEWCOMERS_FOR.toMillis() / 1000.0;
    }
  }

  private boolean fits(long points) {
    return inUse + points <= capacity || inUse == 0;
  }

  /**
   * Gives credit back and admits waiting reports as far as it goes: first reports, oldest first,
   * then the others, oldest first; nothing passes a first report that does not fit yet.
   */
  void give(long points) {
    List<Runnable> run = new ArrayList<>();
    synchronized (this) {
      inUse -= points;
      if (inUse < 0) {
        throw new IllegalStateException("admission credit given back twice: in use " + inUse);
      }
      givenBack += points;
      for (Waiter w; (w = newcomers.pollIf(this::fits)) != null; ) {
        inUse += w.points();
        run.add(w.granted());
      }
      // Nothing passes a first report that does not fit yet.
      while (newcomers.isEmpty()) {
        Waiter w = waiters.pollIf(this::fits);
        if (w == null) break;
        inUse += w.points();
        run.add(w.granted());
      }
    }
    run(run);
  }

  /**
   * Grants run outside the lock, one after the other: a grant sends a report to the store, which
   * may answer at once (the memory store does) and so give credit back and grant the next report on
   * the same thread. Those nested grants join this thread's queue instead of nesting deeper.
   */
  private static final ThreadLocal<ArrayDeque<Runnable>> GRANTING = new ThreadLocal<>();

  private static void run(List<Runnable> grants) {
    if (grants.isEmpty()) return;
    ArrayDeque<Runnable> queue = GRANTING.get();
    if (queue != null) {
      queue.addAll(grants);
      return;
    }
    queue = new ArrayDeque<>(grants);
    GRANTING.set(queue);
    try {
      for (Runnable r; (r = queue.pollFirst()) != null; ) {
        try {
          r.run();
        } catch (RuntimeException e) {
          // One stream's failure must not leave the reports granted after it waiting forever.
          log.error("admission: a granted report could not be sent to the store", e);
        }
      }
    } finally {
      GRANTING.remove();
    }
  }

  /**
   * Forgets a waiting request whose stream has ended; if it was granted meanwhile, its credit is
   * given back. Returns true if it was still waiting.
   */
  boolean cancel(Runnable granted) {
    boolean found;
    synchronized (this) {
      found = newcomers.remove(granted) || waiters.remove(granted);
    }
    // Removing a waiter at the head may let the next ones in.
    if (found) give(0);
    return found;
  }

  /**
   * How long a stream that opens now should stay away: the time the store needs, at the rate it has
   * been settling points, to take the first reports that wait (a newcomer goes ahead of the rest),
   * times a random factor from 1 to 2 so that the agents told to wait do not all come back at once.
   * At least {@code min}, at most {@code max}.
   */
  Duration retryDelay(Duration min, Duration max) {
    double rate = drainRate();
    long waitingNow;
    synchronized (this) {
      waitingNow = newcomers.points;
    }
    // Before the first second of settling the rate is unknown: a short wait, not the longest one,
    // or a cold collector would send its first agents away for a minute.
    double seconds = rate > 0 ? waitingNow / rate : min.toMillis() / 1000.0;
    long ms = (long) (seconds * 1000 * (1 + ThreadLocalRandom.current().nextDouble()));
    return Duration.ofMillis(Math.clamp(ms, min.toMillis(), max.toMillis()));
  }

  /** Points per second the store has been settling, smoothed over a few seconds. */
  synchronized double drainRate() {
    long now = nanoTime.getAsLong();
    long elapsed = now - rateAtNanos;
    if (elapsed >= 1_000_000_000L) {
      double sample = (givenBack - rateAtGivenBack) * 1e9 / elapsed;
      pointsPerSecond = pointsPerSecond == 0 ? sample : 0.7 * pointsPerSecond + 0.3 * sample;
      rateAtNanos = now;
      rateAtGivenBack = givenBack;
    }
    return pointsPerSecond;
  }
}

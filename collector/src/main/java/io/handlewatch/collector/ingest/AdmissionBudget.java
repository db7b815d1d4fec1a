package io.handlewatch.collector.ingest;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
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
 * not. A report that finds too little credit waits, first come first served, and its stream reads
 * nothing more meanwhile, so HTTP/2 flow control holds its agent back. While reports wait, the
 * budget is oversubscribed: a stream that opens then is told to come back later ({@link
 * #retryDelay()}) instead of adding to the queue.
 */
final class AdmissionBudget {
  private static final Logger log = LoggerFactory.getLogger(AdmissionBudget.class);

  /** A report waiting for credit: how much it needs and what to run once it has it. */
  private record Waiter(long points, Runnable granted) {}

  private final long capacity;
  private final LongSupplier nanoTime;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private long inUse;
  private long waitingPoints;

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

  /** Reports waiting for credit. */
  synchronized int waiting() {
    return waiters.size();
  }

  /** Points the waiting reports need. */
  synchronized long waitingPoints() {
    return waitingPoints;
  }

  /**
   * Takes {@code points} of credit now if there is room and nobody queues ahead; otherwise queues
   * the request, and {@code granted} runs (on the thread that gives credit back) once it is taken.
   * A report larger than the whole budget is admitted alone, when nothing else is in flight.
   *
   * @return true if the credit was taken now ({@code granted} is then not run)
   */
  boolean take(long points, Runnable granted) {
    synchronized (this) {
      if (waiters.isEmpty() && fits(points)) {
        inUse += points;
        return true;
      }
      waiters.addLast(new Waiter(points, granted));
      waitingPoints += points;
      return false;
    }
  }

  /** Whether the budget is oversubscribed: reports wait for credit. */
  synchronized boolean oversubscribed() {
    return !waiters.isEmpty();
  }

  private boolean fits(long points) {
    return inUse + points <= capacity || inUse == 0;
  }

  /** Gives credit back and admits waiting reports, oldest first, as far as it goes. */
  void give(long points) {
    List<Runnable> run = new ArrayList<>();
    synchronized (this) {
      inUse -= points;
      if (inUse < 0) {
        throw new IllegalStateException("admission credit given back twice: in use " + inUse);
      }
      givenBack += points;
      while (!waiters.isEmpty() && fits(waiters.peekFirst().points())) {
        Waiter w = waiters.pollFirst();
        waitingPoints -= w.points();
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
    boolean found = false;
    synchronized (this) {
      var it = waiters.iterator();
      while (it.hasNext()) {
        Waiter w = it.next();
        if (w.granted() == granted) {
          it.remove();
          waitingPoints -= w.points();
          found = true;
          break;
        }
      }
    }
    // Removing a waiter at the head may let the next ones in.
    if (found) give(0);
    return found;
  }

  /**
   * How long a stream that opens now should stay away: the time the store needs, at the rate it has
   * been settling points, to take what waits, times a random factor from 1 to 2 so that the agents
   * told to wait do not all come back at once. At least {@code min}, at most {@code max}.
   */
  Duration retryDelay(Duration min, Duration max) {
    double rate = drainRate();
    long waitingNow = waitingPoints();
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

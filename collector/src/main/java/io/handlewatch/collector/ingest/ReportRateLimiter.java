package io.handlewatch.collector.ingest;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A token bucket per agent: {@code ratePerSecond} reports sustained, {@code burst} at once. Buckets
 * outlive streams, so reconnecting does not refill one; a bucket that has refilled completely is
 * the same as none and is dropped, which keeps the map as small as the set of busy agents.
 */
final class ReportRateLimiter {
  private static final int PRUNE_EVERY = 4096;

  private final double tokensPerNano;
  private final double burst;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong takes = new AtomicLong();

  private static final class Bucket {
    double tokens;
    long at;

    Bucket(double tokens, long at) {
      this.tokens = tokens;
      this.at = at;
    }

    /** Tokens now; caller holds the bucket's lock. */
    double refill(long now, double perNano, double burst) {
      if (now > at) {
        tokens = Math.min(burst, tokens + (now - at) * perNano);
        at = now;
      }
      return tokens;
    }
  }

  ReportRateLimiter(double ratePerSecond, int burst, LongSupplier nanoTime) {
    this.tokensPerNano = ratePerSecond / 1e9;
    this.burst = burst;
    this.nanoTime = nanoTime;
  }

  /** Takes one report's token for {@code agent}; false when its bucket is empty. */
  boolean tryTake(String agent) {
    long now = nanoTime.getAsLong();
    if (takes.incrementAndGet() % PRUNE_EVERY == 0) prune(now);
    Bucket b = buckets.computeIfAbsent(agent, k -> new Bucket(burst, now));
    synchronized (b) {
      if (b.refill(now, tokensPerNano, burst) < 1) return false;
      b.tokens -= 1;
      return true;
    }
  }

  int trackedAgents() {
    return buckets.size();
  }

  private void prune(long now) {
    buckets
        .values()
        .removeIf(
            b -> {
              synchronized (b) {
                return b.refill(now, tokensPerNano, burst) >= burst;
              }
            });
  }
}

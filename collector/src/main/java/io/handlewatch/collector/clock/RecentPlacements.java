package io.handlewatch.collector.clock;

import java.util.Arrays;

/**
 * Where one host's latest reports were placed, by seq: enough to keep its placed times strictly
 * increasing in seq order whatever the offset estimate does between two reports, and to place a
 * report the agent sends again (a replay after a reconnect) exactly where it went the first time,
 * so that the store keeps one point for it. Kept in three arrays sorted by seq, {@link #SIZE}
 * entries (under 1 KiB a host); the lowest seq goes first. Not thread-safe: {@link ClockOffsets}
 * holds the host's lock.
 */
final class RecentPlacements {
  /**
   * More than an agent has unacknowledged when its stream breaks (the collector lets 8 in flight by
   * default), so any report replayed after a reconnect is still here.
   */
  static final int SIZE = 32;

  /** A report's place: its time in epoch milliseconds (what the stores keep) and its offset. */
  record Place(long timeMs, long offsetMs) {}

  private final long[] seqs = new long[SIZE];
  private final long[] times = new long[SIZE];
  private final long[] offsets = new long[SIZE];
  private int count;

  /** Where report {@code seq} was placed, or null when it is not among the kept ones. */
  Place of(long seq) {
    int i = Arrays.binarySearch(seqs, 0, count, seq);
    return i < 0 ? null : new Place(times[i], offsets[i]);
  }

  /**
   * The time in epoch milliseconds closest to {@code wantedMs} that keeps the times strictly
   * increasing in seq order: after every kept report of a lower seq, before every one of a higher
   * seq. When no millisecond lies between them (a report never seen before arriving between two
   * placed a millisecond apart: not a case agents produce) it goes just after the lower one.
   */
  long inOrder(long seq, long wantedMs) {
    int i = Arrays.binarySearch(seqs, 0, count, seq);
    int at = i < 0 ? -i - 1 : i;
    long t = wantedMs;
    if (at < count && seqs[at] != seq && t >= times[at]) t = times[at] - 1;
    if (at > 0 && t <= times[at - 1]) t = times[at - 1] + 1;
    return t;
  }

  /** Records where report {@code seq} went. */
  void add(long seq, long timeMs, long offsetMs) {
    int i = Arrays.binarySearch(seqs, 0, count, seq);
    if (i >= 0) {
      times[i] = timeMs;
      offsets[i] = offsetMs;
      return;
    }
    int at = -i - 1;
    if (count == SIZE) {
      if (at == 0) return; // older than all kept: nothing later will be placed before it
      System.arraycopy(seqs, 1, seqs, 0, at - 1);
      System.arraycopy(times, 1, times, 0, at - 1);
      System.arraycopy(offsets, 1, offsets, 0, at - 1);
      at--;
      count--;
    } else {
      System.arraycopy(seqs, at, seqs, at + 1, count - at);
      System.arraycopy(times, at, times, at + 1, count - at);
      System.arraycopy(offsets, at, offsets, at + 1, count - at);
    }
    seqs[at] = seq;
    times[at] = timeMs;
    offsets[at] = offsetMs;
    count++;
  }
}

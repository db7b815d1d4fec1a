package io.handlewatch.agent.runtime;

import java.util.function.LongSupplier;

/**
 * Keeps the Java heap near its live set between samples. The serial collector promotes what a young
 * collection finds alive but cannot fit in the small survivor space, and it grows the old
 * generation for that instead of collecting it: with 250 network namespaces a sample promoted about
 * 0.6 MiB that died soon after, and the heap crept from 8 MiB toward its 32 MiB cap, sample after
 * sample, resident all the way (BENCHMARKS.md, issue 12's RSS). So after a sample that left the
 * committed heap {@link #GROWTH} above where the last collection left it, a full collection takes
 * the promoted garbage, and the launcher's {@code -XX:-ShrinkHeapInSteps} lets it give the excess
 * back at once (the collector would otherwise shrink in steps of 0, 10, 40 % over several).
 *
 * <p>The first sample is always followed by one: it loads and compiles most of what the agent runs
 * and fills the socket index, and at 180,000 sockets the old generation grew by 2-3 MiB of its
 * garbage before the first check could take a floor, so that growth stayed committed, and resident,
 * for good (BENCHMARKS.md, "The heap at 180,000 sockets").
 */
public final class JavaHeap {
  /** Committed growth that earns a full collection: about two samples' promotion at 250 pods. */
  static final long GROWTH = 1L << 20;

  private static final JavaHeap PROCESS =
      new JavaHeap(() -> Runtime.getRuntime().totalMemory(), System::gc);

  private final LongSupplier committed;
  private final Runnable collect;
  private long floor = Long.MIN_VALUE / 2; // none before the first sample: it is collected
  private long collections;

  JavaHeap(LongSupplier committed, Runnable collect) {
    this.committed = committed;
    this.collect = collect;
  }

  /**
   * Collects this process's heap after the first sample, and after later ones when it grew by
   * {@link #GROWTH} since the last collection; returns whether it did. Called on the sampler's
   * thread after each sample.
   */
  public static boolean collectIfGrown() {
    return PROCESS.afterSample();
  }

  synchronized boolean afterSample() {
    if (committed.getAsLong() < floor + GROWTH) return false;
    collect.run();
    floor = committed.getAsLong();
    collections++;
    return true;
  }

  synchronized long collections() {
    return collections;
  }
}

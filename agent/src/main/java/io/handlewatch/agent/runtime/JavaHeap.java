package io.handlewatch.agent.runtime;

/**
 * Gives back the Java heap that a large sample grew, once the sample is spooled. The serial
 * collector shrinks its old generation only after a full collection (down to -XX:MaxHeapFreeRatio),
 * and between samples the agent allocates too little to ever come to one: at 180,000 sockets the
 * heap grew from 8 to 18 MiB committed in the first samples and stayed so for the life of the
 * process (BENCHMARKS.md, "Agent daemon footprint"). A full collection of the agent's few MiB of
 * live objects costs milliseconds, once per interval, and only when the sample left the heap larger
 * than it was at the start: never on a host with few sockets.
 */
final class JavaHeap {
  private final long floor;

  /** Takes the heap's size now, at the start, as the size to come back to. */
  JavaHeap() {
    this.floor = Runtime.getRuntime().totalMemory();
  }

  /** Collects when the heap grew past its size at the start; returns whether it did. */
  boolean shrinkIfGrown() {
    if (Runtime.getRuntime().totalMemory() <= floor) return false;
    System.gc();
    return true;
  }
}

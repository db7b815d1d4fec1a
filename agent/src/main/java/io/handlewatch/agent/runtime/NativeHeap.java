package io.handlewatch.agent.runtime;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * Gives glibc's free memory back to the kernel after each sample ({@code malloc_trim(0)}). The JVM
 * can do the same on a thread of its own ({@code -XX:TrimNativeHeapInterval}); doing it here, once
 * per interval on the sampler thread, keeps the ~5 MiB that trimming saves without that thread
 * (BENCHMARKS.md, "Agent daemon footprint"). The daemon and {@code sample --count N} both trim:
 * C1's compiler arenas of the first sample and the netlink dumps' buffers are freed but would
 * otherwise stay resident (3.5 MiB at 180,000 sockets). A C library without {@code malloc_trim}
 * (musl) has nothing to trim this way, and then this does nothing.
 */
public final class NativeHeap {
  private static final MethodHandle MALLOC_TRIM = lookup();

  private NativeHeap() {}

  private static MethodHandle lookup() {
    Linker linker = Linker.nativeLinker();
    return linker
        .defaultLookup()
        .find("malloc_trim")
        .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(JAVA_INT, JAVA_LONG)))
        .orElse(null);
  }

  /** Whether this C library can trim (glibc). */
  public static boolean available() {
    return MALLOC_TRIM != null;
  }

  /** Trims the C heap; returns whether memory was given back. */
  public static boolean trim() {
    if (MALLOC_TRIM == null) return false;
    try {
      return (int) MALLOC_TRIM.invokeExact(0L) != 0;
    } catch (Throwable t) {
      throw new IllegalStateException("malloc_trim failed: " + t, t);
    }
  }
}

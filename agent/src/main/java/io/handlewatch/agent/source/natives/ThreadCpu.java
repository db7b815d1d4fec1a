package io.handlewatch.agent.source.natives;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The CPU time of the calling thread, {@code clock_gettime(CLOCK_THREAD_CPUTIME_ID)}, for the
 * sample's health. The JDK's way, {@code ManagementFactory.getThreadMXBean()}, starts the platform
 * MBean machinery (JMX interfaces, service loaders, stream pipelines, JFR's provider): about 100
 * classes resident for the agent's life to read one clock (BENCHMARKS.md, issue 12's RSS). Where
 * this JVM may not call the C library, it falls back to the MXBean.
 */
public final class ThreadCpu {
  private static final int CLOCK_THREAD_CPUTIME_ID = 3;
  private static final MethodHandle CLOCK_GETTIME = lookup();

  private ThreadCpu() {}

  /** CPU time (user and system) of the calling thread, in nanoseconds. */
  public static long nanos() {
    if (CLOCK_GETTIME == null) {
      return Mx.THREADS.getCurrentThreadCpuTime();
    }
    long[] ts = new long[2];
    int rc;
    try {
      rc = (int) CLOCK_GETTIME.invokeExact(CLOCK_THREAD_CPUTIME_ID, MemorySegment.ofArray(ts));
    } catch (Throwable t) {
      throw new IllegalStateException("clock_gettime: " + t, t);
    }
    if (rc != 0) {
      // Linux always has this clock for the calling thread; a failure is a broken C library.
      throw new IllegalStateException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) returned " + rc);
    }
    return ts[0] * 1_000_000_000L + ts[1];
  }

  private static MethodHandle lookup() {
    try {
      Linker linker = Linker.nativeLinker();
      return linker
          .defaultLookup()
          .find("clock_gettime")
          .map(
              a ->
                  linker.downcallHandle(
                      a,
                      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS),
                      // Reads the struct timespec straight into a Java long[2].
                      Linker.Option.critical(true)))
          .orElse(null);
    } catch (IllegalCallerException | UnsupportedOperationException e) {
      return null; // native access not enabled for this module: the MXBean it is
    }
  }

  /** Loaded only on the fallback path. */
  private static final class Mx {
    static final java.lang.management.ThreadMXBean THREADS =
        java.lang.management.ManagementFactory.getThreadMXBean();
  }
}

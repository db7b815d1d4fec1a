package io.handlewatch.agent.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.handlewatch.agent.source.natives.ErrnoCalls;
import java.io.BufferedReader;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gives the kernel back the clean file pages the agent needed only to start. Start-up touches most
 * of {@code libjvm.so} (15.9 MiB resident) and the JDK's libraries, then sampling uses about a
 * quarter of it (BENCHMARKS.md, "Agent daemon footprint"); those pages stay resident until the node
 * runs short of memory, and count in the agent's RSS all along. Once, after start-up, this asks
 * {@code madvise(MADV_PAGEOUT)} for every file-backed mapping that is not writable and holds no
 * private (copy-on-write) page: the kernel drops the pages no other process maps, and those the JVM
 * touches again fault back in. Each mapping is first marked {@code MADV_RANDOM}, else a fault reads
 * ahead up to the disk's {@code read_ahead_kb} (8 MiB on the benchmark machine) and brings back
 * most of what was given back within a sample; Linux 6.16 and later read ahead in executable
 * mappings all the same, and fault-around maps 64 KiB of cached pages at each fault, so {@code
 * libjvm.so}'s code settles at the windows sampling touches (about 10 MiB), not at one page per
 * page touched. Writable mappings and read-only ones with private copies (relocated data, the AOT
 * cache as the JVM relocates it) are left alone: their pages are not the file's, and paging them
 * out would send them to swap where a node has it.
 *
 * <p>Off with {@code -Dhandlewatch.agent.pageOut=false}. A kernel without {@code MADV_PAGEOUT}
 * (before 5.4: EINVAL) or a policy that refuses it is logged once, counted, and the agent goes on.
 */
public final class StartupPages {
  private static final System.Logger log = System.getLogger(StartupPages.class.getName());

  /** The system property that turns the page-out off ({@code false}). */
  public static final String PROPERTY = "handlewatch.agent.pageOut";

  static final int MADV_RANDOM = 1;
  static final int MADV_PAGEOUT = 21;

  private static final AtomicLong releasedBytes = new AtomicLong();
  private static final AtomicLong failures = new AtomicLong();
  private static final AtomicBoolean done = new AtomicBoolean();

  private StartupPages() {}

  /** A mapping of /proc/PID/smaps: its range, permissions, file, and pages resident. */
  record Mapping(long start, long end, String perms, String path, long rssKb, long anonymousKb) {
    long length() {
      return end - start;
    }

    /** File-backed, not writable, some pages resident and none of them a private copy. */
    boolean cleanFilePages() {
      return path.startsWith("/")
          && perms.length() >= 3
          && perms.charAt(1) != 'w'
          && (perms.charAt(0) == 'r' || perms.charAt(2) == 'x')
          && rssKb > 0
          && anonymousKb == 0;
    }
  }

  /** What one page-out did. */
  record Result(int mappings, long residentBefore, long residentAfter, int failed, String error) {
    long released() {
      return Math.max(0, residentBefore - residentAfter);
    }
  }

  /** Whether the page-out is on: it is unless {@value #PROPERTY} is {@code false}. */
  public static boolean enabled() {
    return !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").strip());
  }

  /**
   * Pages out this process's clean file pages the first time it is called, when {@link #enabled};
   * afterwards does nothing. Called on the sampling thread before the second sample, by when the
   * agent has started, sampled and (the daemon) had its first report acknowledged.
   */
  public static void releaseOnce() {
    if (!enabled() || !done.compareAndSet(false, true)) return;
    Path smaps = Path.of("/proc/self/smaps");
    try {
      Result r = release(smaps, Madvise.pageOut());
      releasedBytes.set(r.released());
      if (r.failed() > 0) {
        failures.addAndGet(r.failed());
        log.log(
            Level.WARNING,
            "page-out of the start-up pages refused for {0} of {1} mappings ({2}); they stay"
                + " resident, the agent goes on (-D{3}=false turns the page-out off)",
            r.failed(),
            r.mappings(),
            r.error(),
            PROPERTY);
      }
      log.log(
          Level.INFO,
          "start-up pages given back: {0} KiB of {1} KiB resident in {2} read-only file mappings",
          r.released() / 1024,
          r.residentBefore() / 1024,
          r.mappings());
    } catch (IOException | RuntimeException e) {
      failures.incrementAndGet();
      log.log(
          Level.WARNING,
          "page-out of the start-up pages failed, they stay resident, the agent goes on: " + e);
    }
  }

  /** Bytes the last page-out took out of the agent's resident set (0 before it ran, or off). */
  public static long releasedBytes() {
    return releasedBytes.get();
  }

  /** Mappings whose page-out the kernel refused, and page-outs that failed outright. */
  public static long failures() {
    return failures.get();
  }

  /** The advice call: 0 on success, else errno. */
  @FunctionalInterface
  interface Advice {
    int advise(long address, long length);
  }

  /** Pages out the clean file mappings of {@code smaps} and reads it again for what left. */
  static Result release(Path smaps, Advice advice) throws IOException {
    List<Mapping> chosen = new ArrayList<>();
    long before = 0;
    for (Mapping m : read(smaps)) {
      if (m.cleanFilePages()) {
        chosen.add(m);
        before += m.rssKb() * 1024;
      }
    }
    int failed = 0;
    String error = null;
    for (Mapping m : chosen) {
      int errno = advice.advise(m.start(), m.length());
      if (errno != 0) {
        failed++;
        if (error == null) {
          error = "errno " + errno + " on " + m.path() + " " + m.perms();
        }
      }
    }
    Set<String> advised = new HashSet<>();
    for (Mapping c : chosen) advised.add(c.start() + " " + c.path());
    long after = 0;
    for (Mapping m : read(smaps)) {
      if (advised.contains(m.start() + " " + m.path())) after += m.rssKb() * 1024;
    }
    return new Result(chosen.size(), before, after, failed, error);
  }

  /** The mappings of an smaps file, with their Rss and Anonymous sizes. */
  static List<Mapping> read(Path smaps) throws IOException {
    List<Mapping> out = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(smaps, StandardCharsets.US_ASCII)) {
      long start = 0;
      long end = 0;
      String perms = null;
      String path = "";
      long rss = 0;
      long anon = 0;
      String line;
      while ((line = in.readLine()) != null) {
        int colon = line.indexOf(':');
        int space = line.indexOf(' ');
        if (space > 0 && (colon < 0 || colon > space)) {
          // A mapping's header: "start-end perms offset dev inode [path]".
          if (perms != null) out.add(new Mapping(start, end, perms, path, rss, anon));
          String[] f = line.trim().split("\\s+", 6);
          if (f.length < 5) throw new IOException("not an smaps header: " + line);
          int dash = f[0].indexOf('-');
          start = Long.parseUnsignedLong(f[0], 0, dash, 16);
          end = Long.parseUnsignedLong(f[0], dash + 1, f[0].length(), 16);
          perms = f[1];
          path = f.length == 6 ? f[5].strip() : "";
          rss = 0;
          anon = 0;
        } else if (line.startsWith("Rss:")) {
          rss = kb(line);
        } else if (line.startsWith("Anonymous:")) {
          anon = kb(line);
        }
      }
      if (perms != null) out.add(new Mapping(start, end, perms, path, rss, anon));
    } catch (NumberFormatException e) {
      throw new IOException("cannot parse " + smaps + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static long kb(String line) {
    String v = line.substring(line.indexOf(':') + 1).strip();
    int sp = v.indexOf(' ');
    return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
  }

  /** {@code madvise(2)} of the C library, with its errno. */
  static final class Madvise implements Advice {
    private final MethodHandle madvise =
        ErrnoCalls.downcall(
            "madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private Madvise() {}

    /** {@code MADV_RANDOM}, then {@code MADV_PAGEOUT}. */
    static Madvise pageOut() {
      return new Madvise();
    }

    @Override
    public int advise(long address, long length) {
      int errno = call(address, length, MADV_RANDOM);
      return errno != 0 ? errno : call(address, length, MADV_PAGEOUT);
    }

    private int call(long address, long length, int advice) {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment errno = arena.allocate(ErrnoCalls.CAPTURE);
        int rc = (int) madvise.invokeExact(errno, MemorySegment.ofAddress(address), length, advice);
        return rc == 0 ? 0 : (int) ErrnoCalls.ERRNO.get(errno, 0L);
      } catch (Throwable t) {
        throw new IllegalStateException("madvise failed: " + t, t);
      }
    }
  }
}

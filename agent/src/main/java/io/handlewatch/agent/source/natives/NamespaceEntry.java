package io.handlewatch.agent.source.natives;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.handlewatch.agent.source.NetNamespaces;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.parse.ProcParseException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs socket dumps inside other network namespaces. netlink answers only for the namespace its
 * socket was opened in, so a dedicated thread {@code setns}es into the namespace and opens the
 * netlink socket there; the namespace is a property of the thread, so the sampler's own thread and
 * the rest of the agent (the gRPC link to the collector) stay where they are. The socket is kept
 * for the next samples: entering and opening cost more than a small namespace's dump.
 *
 * <p>The thread verifies through {@code /proc/thread-self/ns/net} that it really is in the
 * namespace before opening the socket: a dump of the wrong namespace would be silently wrong
 * counts.
 */
public final class NamespaceEntry implements AutoCloseable {
  private static final int O_RDONLY_CLOEXEC = 0x80000;
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int EPERM = 1;

  /** setns was refused: the agent lacks CAP_SYS_ADMIN (or ptrace access to the member). */
  public static final class Denied extends IOException {
    private final boolean setns;

    Denied(String message, boolean setns) {
      super(message);
      this.setns = setns;
    }

    /** Refused by setns itself (no CAP_SYS_ADMIN: no namespace can be entered), not by open. */
    public boolean bySetns() {
      return setns;
    }
  }

  /**
   * Sockets kept across samples, at most this many: one file descriptor per namespace. Beyond it a
   * namespace is entered and a socket opened for each dump, as before sockets were kept.
   */
  static final int MAX_KEPT = 4096;

  private ExecutorService thread;
  private final NetlinkSocketTable table = new NetlinkSocketTable();
  // namespace inode -> a NETLINK_SOCK_DIAG socket opened inside it. The socket answers for that
  // namespace from any thread, so a namespace is entered (setns on the dedicated thread) once in
  // its life, not once per sample; the dump itself runs on the caller's thread.
  private final java.util.HashMap<Long, Integer> kept = new java.util.HashMap<>();

  // CPU the dump thread spent, which the sampler's own thread-CPU clock cannot see.
  private final java.util.concurrent.atomic.AtomicLong cpuNanos =
      new java.util.concurrent.atomic.AtomicLong();

  /** CPU time the dump thread spent since the last call, in nanoseconds. */
  public long drainCpuNanos() {
    return cpuNanos.getAndSet(0);
  }

  /** The namespaces (inodes) that have a socket kept open now. */
  public java.util.Set<Long> keptSockets() {
    return java.util.Set.copyOf(kept.keySet());
  }

  /**
   * Closes the sockets of namespaces not in {@code live} (the namespaces found this sample). A kept
   * socket holds its namespace alive: without this a deleted pod's namespace would linger.
   */
  public void retainOnly(java.util.Set<Long> live) {
    var it = kept.entrySet().iterator();
    while (it.hasNext()) {
      var e = it.next();
      if (!live.contains(e.getKey())) {
        NetlinkSocketTable.closeSocket(e.getValue());
        it.remove();
      }
    }
  }

  /**
   * Dumps the namespace at {@code nsPath} (inode {@code inode}) with a netlink reader, through the
   * socket kept for it, opening one (setns on the dedicated thread) the first time.
   *
   * @throws Denied when setns is not permitted, before any socket was visited
   */
  public long dump(Path nsPath, long inode, SocketTable.SocketVisitor visitor, Problems problems)
      throws IOException {
    Integer fd = kept.get(inode);
    if (fd == null && kept.size() < MAX_KEPT) {
      fd = onThread(nsPath, inode, () -> NetlinkSocketTable.openSocket());
      kept.put(inode, fd);
    }
    if (fd == null) {
      return onThread(nsPath, inode, () -> table.forEach(visitor, problems));
    }
    try {
      return table.forEachOn(fd, visitor, problems);
    } catch (IOException | RuntimeException e) {
      // A dump abandoned half way keeps running in the kernel, which answers EBUSY to the next
      // request on that socket: the next sample starts with a fresh one.
      kept.remove(inode);
      NetlinkSocketTable.closeSocket(fd);
      throw e;
    }
  }

  /** Work done inside a namespace, on the dedicated thread. */
  public interface InNamespace<T> {
    T run() throws IOException;
  }

  /**
   * Runs {@code work} inside the namespace at {@code nsPath} (inode {@code inode}), for what only a
   * thread in it can read, such as its {@code /proc/sys/net}. The caller waits for it.
   *
   * @throws Denied when setns is not permitted
   */
  public <T> T inside(Path nsPath, long inode, InNamespace<T> work) throws IOException {
    return onThread(nsPath, inode, work);
  }

  /** Runs {@code work} on the dedicated thread once it has entered the namespace. */
  private <T> T onThread(Path nsPath, long inode, InNamespace<T> work) throws IOException {
    if (thread == null) {
      // The thread ends after a second idle: once a namespace's socket is kept, the thread is
      // needed only for the next new namespace, and an idle thread costs every host for its life.
      // A new one enters the namespace anew, as every task here does.
      thread =
          new ThreadPoolExecutor(
              0,
              1,
              1,
              TimeUnit.SECONDS,
              new LinkedBlockingQueue<>(),
              r -> {
                Thread t = new Thread(r, "netns-dump");
                t.setDaemon(true);
                return t;
              });
    }
    Future<T> f =
        thread.submit(
            () -> {
              var threads = java.lang.management.ManagementFactory.getThreadMXBean();
              long c0 = threads.getCurrentThreadCpuTime();
              try {
                enter(nsPath, inode);
                return work.run();
              } finally {
                cpuNanos.addAndGet(Math.max(0, threads.getCurrentThreadCpuTime() - c0));
              }
            });
    try {
      return f.get();
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while entering namespace " + inode, e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException(
          "dump of namespace " + inode + " failed: " + e.getCause(), e.getCause());
    }
  }

  private static void enter(Path nsPath, long inode) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment errno = arena.allocate(Libc.CAPTURE);
      int fd;
      try {
        fd =
            (int)
                Libc.OPEN.invokeExact(
                    errno, arena.allocateFrom(nsPath.toString()), O_RDONLY_CLOEXEC);
      } catch (Throwable t) {
        throw new IOException("open " + nsPath + ": " + t, t);
      }
      if (fd < 0) {
        int e = (int) Libc.ERRNO.get(errno, 0L);
        String what = "open " + nsPath + ": " + NetlinkSocketTable.Errno.describe(e);
        if (e == EPERM || e == 13) {
          throw new Denied(what, false);
        }
        throw new IOException(what);
      }
      int rc;
      int e;
      try {
        rc = (int) Libc.SETNS.invokeExact(errno, fd, CLONE_NEWNET);
        e = (int) Libc.ERRNO.get(errno, 0L);
      } catch (Throwable t) {
        throw new IOException("setns " + nsPath + ": " + t, t);
      } finally {
        try {
          int ignored = (int) Libc.CLOSE.invokeExact(errno, fd);
        } catch (Throwable t) {
          throw new IllegalStateException("close of namespace fd " + fd + " failed", t);
        }
      }
      if (rc != 0) {
        String what = "setns " + nsPath + ": " + NetlinkSocketTable.Errno.describe(e);
        if (e == EPERM) {
          throw new Denied(what + " (needs CAP_SYS_ADMIN)", true);
        }
        throw new IOException(what);
      }
    }
    long now;
    try {
      now = NetNamespaces.inodeOfLink(Path.of("/proc/thread-self/ns/net"));
    } catch (ProcParseException e) {
      throw new IOException(e.getMessage(), e);
    }
    if (now != inode) {
      // The member left or the namespace was replaced between discovery and entry.
      throw new IOException(
          nsPath + " now leads to namespace " + now + ", not " + inode + ": skipped this time");
    }
  }

  /** Whether this process can call the C library (setns) at all. */
  public static boolean available() {
    try {
      return Libc.SETNS != null && Files.exists(Path.of("/proc/thread-self/ns/net"));
    } catch (Throwable t) {
      return false;
    }
  }

  @Override
  public void close() {
    retainOnly(java.util.Set.of());
    if (thread != null) {
      thread.shutdownNow();
    }
  }

  private static final class Libc {
    static final java.lang.foreign.StructLayout CAPTURE = ErrnoCalls.CAPTURE;
    static final java.lang.invoke.VarHandle ERRNO = ErrnoCalls.ERRNO;
    static final MethodHandle OPEN =
        ErrnoCalls.downcall(
            "open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            java.lang.foreign.Linker.Option.firstVariadicArg(2));
    static final MethodHandle SETNS =
        ErrnoCalls.downcall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle CLOSE =
        ErrnoCalls.downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  }
}

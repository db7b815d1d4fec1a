package io.handlewatch.agent.source.natives;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.handlewatch.agent.source.FdTableReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * Reads fd links of a live procfs with open/getdents64/readlinkat/close through the Foreign
 * Function &amp; Memory API, into buffers allocated once. java.nio spends most of its ~8 µs per fd
 * allocating a Path and two Strings per link; at 170k fds that was most of a first sample. This
 * reader allocates nothing per fd and leaves the kernel's readlink as the cost.
 *
 * <p>Not thread-safe: one per process table.
 */
public final class LibcFdTableReader implements FdTableReader, AutoCloseable {
  private static final int O_RDONLY_DIRECTORY_CLOEXEC = 0x10000 | 0x80000; // O_DIRECTORY|O_CLOEXEC
  private static final int EPERM = 1;
  private static final int ENOENT = 2;
  private static final int ESRCH = 3;
  private static final int EINTR = 4;
  private static final int EACCES = 13;
  private static final int DIRENTS_BUFFER = 32 * 1024;
  private static final int LINK_BUFFER = 256;
  private static final int NAME_BUFFER = 256;
  private static final byte[] SOCKET_PREFIX = "socket:[".getBytes(StandardCharsets.US_ASCII);

  // Shared, not confined: the sampler may be built on one thread and run on another.
  private final Arena arena = Arena.ofShared();
  private final MemorySegment errno;
  private final MemorySegment dirents;
  private final MemorySegment link;
  private final MemorySegment path;
  private final MemorySegment name;

  public LibcFdTableReader() {
    errno = arena.allocate(Libc.CAPTURE);
    dirents = arena.allocate(DIRENTS_BUFFER, 8);
    link = arena.allocate(LINK_BUFFER);
    path = arena.allocate(4096);
    name = arena.allocate(NAME_BUFFER);
  }

  /** Whether this JVM can make the calls (FFM allowed, symbols found); false means use nio. */
  public static boolean available() {
    try {
      return Libc.GETDENTS64 != null;
    } catch (ExceptionInInitializerError | NoClassDefFoundError | UnsatisfiedLinkError e) {
      return false;
    }
  }

  @Override
  public Counts read(Path fdDir, LongConsumer socketInodes) throws IOException {
    String dir = fdDir.toString();
    byte[] dirBytes = dir.getBytes(StandardCharsets.UTF_8);
    if (dirBytes.length >= path.byteSize()) {
      throw new IOException("path too long: " + dir);
    }
    MemorySegment.copy(dirBytes, 0, path, JAVA_BYTE, 0, dirBytes.length);
    path.set(JAVA_BYTE, dirBytes.length, (byte) 0);
    int fd = open();
    if (fd < 0) {
      throw error(dir, errno());
    }
    long read = 0;
    long vanished = 0;
    try {
      while (true) {
        long n = getdents(fd);
        if (n == 0) {
          break;
        }
        if (n < 0) {
          int e = errno();
          if (e == EINTR) {
            continue;
          }
          throw error(dir, e);
        }
        // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name[].
        for (long off = 0; off < n; ) {
          int reclen = dirents.get(JAVA_SHORT, off + 16) & 0xFFFF;
          if (reclen < 20 || off + reclen > n) {
            throw new IOException(dir + ": malformed getdents64 record at offset " + off);
          }
          long nameAt = off + 19;
          off += reclen;
          if (dirents.get(JAVA_BYTE, nameAt) == '.') {
            continue; // "." and ".."; fd names are digits
          }
          // Copy the NUL-terminated name into a fixed buffer: a slice per fd would allocate.
          long i = 0;
          byte b;
          do {
            b = dirents.get(JAVA_BYTE, nameAt + i);
            name.set(JAVA_BYTE, i++, b);
          } while (b != 0 && i < NAME_BUFFER - 1);
          name.set(JAVA_BYTE, i, (byte) 0);
          long len = readlinkat(fd, name);
          if (len < 0) {
            int e = errno();
            if (e == ENOENT) {
              vanished++; // closed between getdents and readlink
              continue;
            }
            throw error(dir, e);
          }
          read++;
          long inode = socketInode(link, (int) len);
          if (inode > 0) {
            socketInodes.accept(inode);
          }
        }
      }
    } finally {
      closeFd(fd);
    }
    return new Counts(read, vanished);
  }

  @Override
  public void close() {
    arena.close();
  }

  /** The inode in "socket:[12345]" (not NUL-terminated, {@code len} bytes), or 0. */
  static long socketInode(MemorySegment s, int len) {
    if (len <= SOCKET_PREFIX.length + 1 || s.get(JAVA_BYTE, len - 1) != ']') {
      return 0;
    }
    for (int i = 0; i < SOCKET_PREFIX.length; i++) {
      if (s.get(JAVA_BYTE, i) != SOCKET_PREFIX[i]) {
        return 0;
      }
    }
    long v = 0;
    for (int i = SOCKET_PREFIX.length; i < len - 1; i++) {
      int d = s.get(JAVA_BYTE, i) - '0';
      if (d < 0 || d > 9 || i - SOCKET_PREFIX.length >= 19) {
        return 0;
      }
      v = v * 10 + d;
    }
    return v;
  }

  private int errno() {
    return (int) Libc.ERRNO.get(errno, 0L);
  }

  private static IOException error(String dir, int e) {
    return switch (e) {
      case EACCES, EPERM -> new AccessDeniedException(dir);
      case ENOENT -> new NoSuchFileException(dir);
      case ESRCH -> new FileSystemException(dir, null, "No such process");
      default -> new FileSystemException(dir, null, "errno " + e);
    };
  }

  // One method per call, each catching Throwable once: invokeExact declares it, and a lambda
  // per call would allocate in the per-fd loop.

  private int open() throws IOException {
    try {
      return (int) Libc.OPEN.invokeExact(errno, path, O_RDONLY_DIRECTORY_CLOEXEC);
    } catch (Throwable t) {
      throw new IOException("open: " + t, t);
    }
  }

  private long getdents(int fd) throws IOException {
    try {
      return (long) Libc.GETDENTS64.invokeExact(errno, fd, dirents, (long) DIRENTS_BUFFER);
    } catch (Throwable t) {
      throw new IOException("getdents64: " + t, t);
    }
  }

  private long readlinkat(int fd, MemorySegment entryName) throws IOException {
    try {
      return (long) Libc.READLINKAT.invokeExact(errno, fd, entryName, link, (long) LINK_BUFFER);
    } catch (Throwable t) {
      throw new IOException("readlinkat: " + t, t);
    }
  }

  private void closeFd(int fd) throws IOException {
    try {
      int ignored = (int) Libc.CLOSE.invokeExact(errno, fd);
    } catch (Throwable t) {
      throw new IOException("close: " + t, t);
    }
  }

  /** The C library calls, resolved on first use. */
  private static final class Libc {
    static final StructLayout CAPTURE = ErrnoCalls.CAPTURE;
    static final VarHandle ERRNO = ErrnoCalls.ERRNO;
    static final MethodHandle OPEN =
        ErrnoCalls.downcall(
            "open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            // open(2) is variadic (mode follows flags); we pass no mode.
            Linker.Option.firstVariadicArg(2));
    static final MethodHandle GETDENTS64 =
        ErrnoCalls.downcall(
            "getdents64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle READLINKAT =
        ErrnoCalls.downcall(
            "readlinkat", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle CLOSE =
        ErrnoCalls.downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  }
}

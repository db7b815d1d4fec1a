package io.handlewatch.agent.source;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * Reads which sockets a process holds: the links of {@code /proc/PID/fd/N}, keeping those that read
 * "socket:[INODE]". One call per process; the caller decides which processes need it.
 */
public interface FdTableReader {
  /**
   * Calls {@code socketInodes} with the inode of every socket in the fd directory {@code fdDir}.
   *
   * @throws java.nio.file.AccessDeniedException the table (or its links) may not be read
   * @throws java.nio.file.NoSuchFileException the process is gone
   */
  Counts read(Path fdDir, LongConsumer socketInodes) throws IOException;

  /** What one read cost: links read, and fds that closed between listing and readlink. */
  record Counts(long linksRead, long vanished) {}

  /** The inode of "socket:[12345]", or 0 for any other link target. */
  static long socketInode(String target) {
    if (!target.startsWith("socket:[") || !target.endsWith("]")) {
      return 0;
    }
    String digits = target.substring(8, target.length() - 1);
    if (digits.isEmpty() || digits.length() > 19) {
      return 0;
    }
    long v = 0;
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        return 0;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
}

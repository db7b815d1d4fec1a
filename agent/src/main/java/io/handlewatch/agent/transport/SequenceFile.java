package io.handlewatch.agent.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The agent's report sequence number, strictly increasing across restarts. Writing the file for
 * every report would cost an fsync per report, so the file holds a high-water mark reserved in
 * blocks: after a restart numbering resumes above the reserved block, leaving a gap the collector
 * accepts (seq is increasing, not dense).
 */
public final class SequenceFile {
  static final long BLOCK = 1000;

  private final Path file;
  private long next;
  private long reservedUpTo;
  private long lastIssued;

  /** Opens (or creates) {@code dir/seq}; fails with the path named when it cannot. */
  public SequenceFile(Path dir) {
    this.file = dir.resolve("seq");
    try {
      Files.createDirectories(dir);
      long last = 0;
      if (Files.exists(file)) {
        String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        try {
          last = Long.parseLong(text);
        } catch (NumberFormatException e) {
          throw new IllegalStateException(
              file
                  + " holds \""
                  + text
                  + "\", not a sequence number; remove it to start over"
                  + " (the collector accepts a higher seq, never a lower one)");
        }
      }
      next = last + 1;
      reservedUpTo = last;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot use " + file + " for the report sequence: " + e, e);
    }
  }

  /**
   * Makes the next seq larger than {@code seq}: the spool may hold reports numbered past what this
   * file says (it was deleted, or restored from an older backup), and seq must keep increasing.
   */
  public synchronized void skipPast(long seq) {
    if (seq >= next) next = seq + 1;
  }

  /** The last seq {@link #next()} handed out since this file was opened; 0 when none was. */
  public synchronized long last() {
    return lastIssued;
  }

  /** The next seq; persists a new block first when the current one is used up. */
  public synchronized long next() {
    if (next > reservedUpTo) {
      reserve(next + BLOCK - 1);
    }
    lastIssued = next++;
    return lastIssued;
  }

  private void reserve(long upTo) {
    Path tmp = file.resolveSibling("seq.tmp");
    try {
      Files.writeString(tmp, upTo + "\n", StandardCharsets.US_ASCII);
      try (var ch =
          java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot persist the report sequence to " + file + ": " + e, e);
    }
    reservedUpTo = upTo;
  }
}

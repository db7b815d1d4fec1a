package io.handlewatch.agent.spool;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One spool file, {@code <first seq, 20 digits>.spool}: records appended one after another (see
 * {@link SpoolRecord}), and an index in memory of each record's seq and offset. The name orders the
 * files; the seqs inside only grow. Not thread-safe: {@link DiskSpool} guards it.
 */
final class Segment implements AutoCloseable {
  static final String SUFFIX = ".spool";
  private static final int CHUNK = 64 * 1024;

  final Path file;
  final long firstSeq;
  private final FileChannel channel;
  private long size;
  private long[] seqs = new long[16];
  private int[] offsets = new int[16];
  private int count;

  /** Records at the head of this file that the collector has acknowledged. */
  int acked;

  /** Appended since the last fsync. */
  boolean dirty;

  private Segment(Path file, long firstSeq, FileChannel channel, long size) {
    this.file = file;
    this.firstSeq = firstSeq;
    this.channel = channel;
    this.size = size;
  }

  static String fileName(long firstSeq) {
    return String.format("%020d%s", firstSeq, SUFFIX);
  }

  /** The first seq a segment's file name carries, or -1 when the name is not a segment's. */
  static long firstSeqOf(String name) {
    if (name.length() != 20 + SUFFIX.length() || !name.endsWith(SUFFIX)) return -1;
    long v = 0;
    for (int i = 0; i < 20; i++) {
      char c = name.charAt(i);
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
      if (v < 0) return -1;
    }
    return v;
  }

  static Segment create(Path dir, long firstSeq) throws IOException {
    Path file = dir.resolve(fileName(firstSeq));
    FileChannel ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    return new Segment(file, firstSeq, ch, 0);
  }

  static Segment open(Path file, long firstSeq) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new Segment(file, firstSeq, ch, ch.size());
  }

  /** What a scan of an existing file found. */
  record Scan(int damagedRegions, boolean garbageAtEnd, long validEnd) {}

  /**
   * Indexes every intact record of the file whose seq is above {@code previousSeq} and above the
   * one before it. A damaged stretch (bad magic, length, seq or checksum) is skipped up to the next
   * intact record and counted once; damage with nothing intact after it is reported as garbage at
   * the end, which in the newest file is the torn tail of an append cut short.
   */
  Scan scan(long previousSeq) throws IOException {
    count = 0;
    long pos = 0;
    long last = previousSeq;
    long validEnd = 0;
    int damaged = 0;
    boolean garbageAtEnd = false;
    while (pos < size) {
      long[] found = recordAt(pos, last);
      if (found == null) {
        long next = nextRecord(pos + 1, last);
        if (next < 0) {
          garbageAtEnd = true;
          break;
        }
        damaged++;
        pos = next;
        continue;
      }
      add(found[0], (int) pos);
      last = found[0];
      pos += SpoolRecord.framedSize((int) found[1]);
      validEnd = pos;
    }
    return new Scan(damaged, garbageAtEnd, validEnd);
  }

  /** {seq, payload length} of the intact record at {@code pos} with seq above {@code minSeq}. */
  private long[] recordAt(long pos, long minSeq) throws IOException {
    if (size - pos < SpoolRecord.HEADER) return null;
    ByteBuffer h = ByteBuffer.allocate(SpoolRecord.HEADER);
    readFully(h, pos);
    h.flip();
    if (h.getInt() != SpoolRecord.MAGIC) return null;
    int length = h.getInt();
    long seq = h.getLong();
    int crc = h.getInt();
    if (length < 0 || length > size - pos - SpoolRecord.HEADER || seq <= minSeq) return null;
    CRC32C c = new CRC32C();
    c.update(h.array(), 4, 12);
    ByteBuffer chunk = ByteBuffer.allocate(Math.min(CHUNK, Math.max(length, 1)));
    long at = pos + SpoolRecord.HEADER;
    long end = at + length;
    while (at < end) {
      chunk.clear().limit((int) Math.min(chunk.capacity(), end - at));
      readFully(chunk, at);
      chunk.flip();
      at += chunk.remaining();
      c.update(chunk);
    }
    return (int) c.getValue() == crc ? new long[] {seq, length} : null;
  }

  /** Offset of the next intact record at or after {@code from}, or -1. */
  private long nextRecord(long from, long minSeq) throws IOException {
    ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
    long p = from;
    while (size - p >= SpoolRecord.HEADER) {
      chunk.clear().limit((int) Math.min(CHUNK, size - p));
      readFully(chunk, p);
      int n = chunk.position();
      for (int i = 0; i + 4 <= n; i++) {
        if (chunk.getInt(i) == SpoolRecord.MAGIC && recordAt(p + i, minSeq) != null) return p + i;
      }
      p += n - 3;
    }
    return -1;
  }

  private void readFully(ByteBuffer into, long pos) throws IOException {
    long at = pos;
    while (into.hasRemaining()) {
      int n = channel.read(into, at);
      if (n < 0) throw new EOFException(file + ": ends at " + at);
      at += n;
    }
  }

  private void add(long seq, int offset) {
    if (count == seqs.length) {
      seqs = Arrays.copyOf(seqs, count * 2);
      offsets = Arrays.copyOf(offsets, count * 2);
    }
    seqs[count] = seq;
    offsets[count] = offset;
    count++;
  }

  /**
   * Writes {@code record} at the end of the file and indexes it. On failure (disk full, I/O error)
   * the file is cut back to where it was, so a half-written record never stays behind.
   */
  void append(long seq, ByteBuffer record) throws IOException {
    long start = size;
    int n = record.remaining();
    try {
      long at = start;
      while (record.hasRemaining()) at += channel.write(record, at);
    } catch (IOException e) {
      try {
        channel.truncate(start);
      } catch (IOException cut) {
        e.addSuppressed(cut);
      }
      throw e;
    }
    size = start + n;
    add(seq, (int) start);
    dirty = true;
  }

  /** The payload of record {@code i}, checked against its header and CRC. */
  byte[] payload(int i) throws IOException {
    long pos = offsets[i];
    ByteBuffer h = ByteBuffer.allocate(SpoolRecord.HEADER);
    int length = -1;
    if (size - pos >= SpoolRecord.HEADER) {
      readFully(h, pos);
      h.flip();
      if (h.getInt(0) == SpoolRecord.MAGIC && h.getLong(8) == seqs[i]) length = h.getInt(4);
    }
    if (length < 0 || length > size - pos - SpoolRecord.HEADER) {
      throw new IOException(file + ": record seq " + seqs[i] + " at offset " + pos + " is damaged");
    }
    ByteBuffer payload = ByteBuffer.allocate(length);
    readFully(payload, pos + SpoolRecord.HEADER);
    CRC32C c = new CRC32C();
    c.update(h.array(), 4, 12);
    c.update(payload.array());
    if ((int) c.getValue() != h.getInt(16)) {
      throw new IOException(
          file + ": record seq " + seqs[i] + " at offset " + pos + " fails its checksum");
    }
    return payload.array();
  }

  /** Forgets record {@code i} (found damaged); the file keeps its bytes until rewritten. */
  void forget(int i) {
    System.arraycopy(seqs, i + 1, seqs, i, count - i - 1);
    System.arraycopy(offsets, i + 1, offsets, i, count - i - 1);
    count--;
    if (i < acked) acked--;
  }

  /** Cuts the file after its last intact record (a torn tail). */
  void truncate(long at) throws IOException {
    channel.truncate(at);
    size = at;
  }

  /**
   * Rewrites the file with only its unacknowledged indexed records, so that damage already counted
   * is not found and counted again after a restart. Written beside and renamed over the original,
   * so a crash leaves one whole file or the other.
   */
  Segment rewrite(boolean sync) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      long at = 0;
      for (int i = acked; i < count; i++) {
        ByteBuffer rec = SpoolRecord.encode(seqs[i], payload(i));
        while (rec.hasRemaining()) at += ch.write(rec, at);
      }
      if (sync) ch.force(false);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    close();
    Segment fresh = open(file, firstSeq);
    fresh.scan(firstSeq - 1);
    return fresh;
  }

  void force() throws IOException {
    if (dirty) {
      channel.force(false);
      dirty = false;
    }
  }

  /** Index of the first record with seq above {@code seq} (count if none). */
  int firstAbove(long seq) {
    int lo = 0;
    int hi = count;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (seqs[mid] <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  int count() {
    return count;
  }

  int unacked() {
    return count - acked;
  }

  long seqAt(int i) {
    return seqs[i];
  }

  long lastSeq() {
    return count == 0 ? -1 : seqs[count - 1];
  }

  long size() {
    return size;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  void delete() throws IOException {
    close();
    Files.deleteIfExists(file);
  }
}

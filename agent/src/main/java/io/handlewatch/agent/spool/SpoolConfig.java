package io.handlewatch.agent.spool;

import java.nio.file.Path;

/**
 * How a {@link DiskSpool} is laid out and bounded.
 *
 * @param dir where the segment files and {@code spool.state} live
 * @param maxBytes bound on the bytes of all segment files together
 * @param segmentBytes size at which a segment is closed and the next begun; when the spool is full
 *     the oldest segment goes, so this is also how many reports make way at once
 * @param fsync when appends are synced to stable storage
 * @param memoryMaxReports bound of the in-memory queue used while the disk cannot be written
 * @param memoryMaxBytes byte bound of that queue
 */
public record SpoolConfig(
    Path dir,
    long maxBytes,
    long segmentBytes,
    FsyncPolicy fsync,
    int memoryMaxReports,
    long memoryMaxBytes) {

  /** The smallest spool accepted: room for a few segments of a few reports each. */
  public static final long MIN_BYTES = 64 * 1024;

  public SpoolConfig {
    if (maxBytes < MIN_BYTES) {
      throw new IllegalArgumentException("a spool needs at least " + MIN_BYTES + " bytes");
    }
    if (segmentBytes < 1 || segmentBytes > maxBytes) {
      throw new IllegalArgumentException("segment size must be within the spool's bound");
    }
    if (memoryMaxReports < 1 || memoryMaxBytes < 1) {
      throw new IllegalArgumentException("the memory fallback must hold at least one report");
    }
  }

  /**
   * A spool with segments of 1/64 of the bound, from 4 KiB to 1 MiB: a full 64 MiB spool drops 1
   * MiB of its oldest reports at a time (about 1.5 %), and a healthy one keeps at most two segments
   * on disk.
   */
  public static SpoolConfig of(
      Path dir, long maxBytes, FsyncPolicy fsync, int memoryMaxReports, long memoryMaxBytes) {
    long segment = Math.clamp(maxBytes / 64, 4096L, 1L << 20);
    return new SpoolConfig(dir, maxBytes, segment, fsync, memoryMaxReports, memoryMaxBytes);
  }
}

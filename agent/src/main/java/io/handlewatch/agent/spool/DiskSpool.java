package io.handlewatch.agent.spool;

import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * The agent's reports on disk from the moment they are taken until the collector acknowledges them:
 * a {@link ReportQueue} that survives restarts and crashes of the agent.
 *
 * <p>Reports are appended to segment files ({@link Segment}, records framed by {@link
 * SpoolRecord}); a segment is deleted once every report in it is acknowledged (acks are
 * cumulative). The segment files together never exceed {@link SpoolConfig#maxBytes()}: to make
 * room, and when the disk itself is full, the oldest segment goes, its unacknowledged reports are
 * counted as dropped, and the count ({@link #dropped()}) is kept in {@link SpoolStateFile} so it
 * survives restarts. A report larger than the whole bound is dropped and counted, never written.
 *
 * <p>Opening scans every segment: a record whose checksum fails is skipped and counted, the segment
 * rewritten without it, and the rest delivered; a torn record at the end of the newest segment (an
 * append cut short by a crash) is cut off and counted. When the directory cannot be written (disk
 * full with nothing left to evict, read-only, permissions), new reports wait in a bounded memory
 * queue, the disk is tried again every minute, and nothing throws: the agent keeps sampling.
 * Thread-safe.
 */
public final class DiskSpool implements ReportQueue, AutoCloseable {
  private static final System.Logger log = System.getLogger(DiskSpool.class.getName());
  private static final long DISK_RETRY_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final SpoolConfig config;
  private final LongSupplier nanoClock;
  private final MemoryReportQueue memory;
  private final ArrayDeque<Segment> segments = new ArrayDeque<>();

  /** The segment appends go to; null until the next append creates one. */
  private Segment active;

  /** Null while the directory has never been usable. */
  private SpoolStateFile state;

  private boolean diskUsable;
  private boolean closed;
  private long retryDiskAt;
  private long totalBytes;
  private long unackedOnDisk;
  private long lastSeq;
  private long acked;
  private long dropped;
  private long memoryDroppedSeen;
  private long damaged;
  private long tornTails;
  private long oversized;
  private long diskErrors;

  private DiskSpool(SpoolConfig config, LongSupplier nanoClock) {
    this.config = config;
    this.nanoClock = nanoClock;
    this.memory = new MemoryReportQueue(config.memoryMaxReports(), config.memoryMaxBytes());
  }

  /**
   * Opens the spool in {@code config.dir()}, creating it if needed, and indexes what an earlier run
   * left there. Never fails for the directory's sake: an unusable one is logged and the spool
   * starts in memory.
   */
  public static DiskSpool open(SpoolConfig config) {
    return open(config, System::nanoTime);
  }

  static DiskSpool open(SpoolConfig config, LongSupplier nanoClock) {
    DiskSpool spool = new DiskSpool(config, nanoClock);
    synchronized (spool) {
      spool.openDisk();
    }
    return spool;
  }

  private void openDisk() {
    Path dir = config.dir();
    try {
      Files.createDirectories(dir);
      state = SpoolStateFile.open(dir);
    } catch (IOException | RuntimeException e) {
      diskFailed("cannot open", e);
      return;
    }
    if (state.wasDamaged()) {
      log.log(
          Level.WARNING,
          "spool {0}: {1} was damaged; the dropped-report count starts again from 0 and"
              + " everything spooled will be resent",
          dir,
          state.file());
    }
    dropped = Math.max(dropped, state.initial().dropped());
    acked = Math.max(acked, state.initial().acked());
    lastSeq = Math.max(lastSeq, acked);
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files =
          list.filter(this::segmentFileOrStaleTemp)
              .sorted(Comparator.comparingLong(p -> Segment.firstSeqOf(p.getFileName().toString())))
              .toList();
    } catch (IOException e) {
      diskFailed("cannot list", e);
      return;
    }
    long previous = 0;
    for (int k = 0; k < files.size(); k++) {
      Path file = files.get(k);
      boolean newest = k == files.size() - 1;
      try {
        Segment seg = recover(file, previous, newest);
        if (seg == null) continue;
        previous = seg.lastSeq();
        segments.addLast(seg);
        totalBytes += seg.size();
        unackedOnDisk += seg.unacked();
      } catch (IOException e) {
        diskErrors++;
        log.log(
            Level.ERROR,
            "spool {0}: cannot read {1}, left as it is and not replayed: {2}",
            dir,
            file.getFileName(),
            e.toString());
      }
    }
    lastSeq = Math.max(lastSeq, previous);
    long before = dropped;
    while (totalBytes > config.maxBytes() && !segments.isEmpty()) evictOldest(null);
    if (dropped > before) {
      log.log(
          Level.WARNING,
          "spool {0}: over its bound of {1} bytes at start: dropped the {2} oldest unacknowledged"
              + " reports ({3} dropped so far)",
          dir,
          config.maxBytes(),
          dropped - before,
          dropped);
    }
    diskUsable = true;
    log.log(
        Level.INFO,
        "spool {0}: {1} reports to replay{2}, {3} of {4} bytes, fsync {5}; {6} reports dropped so"
            + " far",
        dir,
        unackedOnDisk,
        unackedOnDisk == 0 ? "" : " from seq " + firstUnackedSeq(),
        totalBytes,
        config.maxBytes(),
        config.fsync().name().toLowerCase(java.util.Locale.ROOT),
        dropped);
  }

  /** Whether {@code p} is a segment; deletes the half-written copy of an interrupted rewrite. */
  private boolean segmentFileOrStaleTemp(Path p) {
    String name = p.getFileName().toString();
    if (name.endsWith(Segment.SUFFIX + ".tmp")) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        log.log(Level.WARNING, "spool {0}: cannot delete {1}: {2}", config.dir(), p, e);
      }
      return false;
    }
    return Segment.firstSeqOf(name) >= 0;
  }

  /** Opens one segment an earlier run left, repairs it if damaged; null when nothing is left. */
  private Segment recover(Path file, long previous, boolean newest) throws IOException {
    long first = Segment.firstSeqOf(file.getFileName().toString());
    Segment seg = Segment.open(file, first);
    Segment.Scan scan;
    try {
      scan = seg.scan(Math.max(previous, first - 1));
    } catch (IOException e) {
      seg.close();
      throw e;
    }
    boolean torn = scan.garbageAtEnd() && newest;
    int damagedHere = scan.damagedRegions() + (scan.garbageAtEnd() && !newest ? 1 : 0);
    if (torn) {
      tornTails++;
      log.log(
          Level.WARNING,
          "spool {0}: torn record at the end of {1} (an append cut short by a crash), cut at"
              + " byte {2} of {3}; counted as 1 dropped report",
          config.dir(),
          file.getFileName(),
          scan.validEnd(),
          seg.size());
      seg.truncate(scan.validEnd());
    }
    if (damagedHere > 0) {
      damaged += damagedHere;
      log.log(
          Level.WARNING,
          "spool {0}: {1} damaged stretch(es) in {2} (checksum or framing), each skipped and"
              + " counted as 1 dropped report; its {3} intact reports are kept",
          config.dir(),
          damagedHere,
          file.getFileName(),
          seg.count());
    }
    if (torn || damagedHere > 0) recordDrops(damagedHere + (torn ? 1 : 0));
    seg.acked = seg.firstAbove(acked);
    if (seg.unacked() == 0) {
      seg.delete();
      return null;
    }
    // Rewritten without the damage, so that a restart does not count it again.
    return damagedHere > 0 ? seg.rewrite(config.fsync() != FsyncPolicy.NEVER) : seg;
  }

  @Override
  public synchronized void append(HostReport report) {
    if (closed) throw new IllegalStateException("spool " + config.dir() + " is closed");
    long seq = report.getSeq();
    if (seq <= lastSeq) {
      throw new IllegalArgumentException("seq " + seq + " does not follow the spooled " + lastSeq);
    }
    lastSeq = seq;
    byte[] payload = report.toByteArray();
    long framed = SpoolRecord.framedSize(payload.length);
    if (framed > config.maxBytes()) {
      oversized++;
      recordDrops(1);
      log.log(
          Level.WARNING,
          "spool {0}: report seq {1} is {2} bytes, more than the whole spool ({3}); dropped ({4}"
              + " dropped so far)",
          config.dir(),
          Long.toString(seq),
          framed,
          config.maxBytes(),
          dropped);
      return;
    }
    if (!diskUsable && nanoClock.getAsLong() - retryDiskAt >= 0) retryDisk();
    if (diskUsable && appendToDisk(seq, payload)) return;
    memory.append(report);
    long memoryDrops = memory.dropped() - memoryDroppedSeen;
    if (memoryDrops > 0) {
      memoryDroppedSeen = memory.dropped();
      recordDrops(memoryDrops);
      log.log(
          Level.WARNING,
          "spool {0}: memory fallback full, dropped {1} oldest report(s) ({2} dropped so far)",
          config.dir(),
          memoryDrops,
          dropped);
    }
  }

  private boolean appendToDisk(long seq, byte[] payload) {
    ByteBuffer record = SpoolRecord.encode(seq, payload);
    long n = record.remaining();
    makeRoom(n);
    while (true) {
      try {
        if (active == null) {
          active = Segment.create(config.dir(), seq);
          segments.addLast(active);
          if (config.fsync() == FsyncPolicy.ALWAYS) syncDirectory();
        }
        active.append(seq, record.duplicate());
      } catch (IOException e) {
        if (isNoSpace(e) && evictForSpace()) continue;
        diskFailed("cannot write to", e);
        return false;
      }
      totalBytes += n;
      unackedOnDisk++;
      if (config.fsync() == FsyncPolicy.ALWAYS) sync(active);
      return true;
    }
  }

  /** Keeps the segment files within the bound, counting the oldest reports it drops. */
  private void makeRoom(long n) {
    if (active != null && active.count() > 0 && active.size() + n > config.segmentBytes()) {
      seal();
    }
    while (totalBytes + n > config.maxBytes() && !segments.isEmpty()) {
      if (segments.peekFirst() == active) {
        if (active.count() == 0) break;
        seal();
      }
      evictOldest("full (" + totalBytes + " of " + config.maxBytes() + " bytes)");
    }
  }

  /** Disk full: the oldest reports make way, as when the spool reaches its bound. */
  private boolean evictForSpace() {
    Segment oldest = segments.peekFirst();
    if (oldest == null) return false;
    if (oldest == active) {
      if (active.count() == 0) return false;
      seal();
    }
    evictOldest("disk full (" + totalBytes + " bytes spooled)");
    return true;
  }

  private static boolean isNoSpace(IOException e) {
    String m = e.getMessage();
    return m != null && (m.contains("No space left") || m.contains("Disk quota exceeded"));
  }

  private void seal() {
    if (config.fsync() != FsyncPolicy.NEVER) sync(active);
    active = null;
  }

  /** Deletes the oldest segment, counting its unacknowledged reports; logs unless why is null. */
  private void evictOldest(String why) {
    Segment s = segments.pollFirst();
    if (s == active) active = null;
    int lost = s.unacked();
    totalBytes -= s.size();
    unackedOnDisk -= lost;
    if (lost > 0) recordDrops(lost);
    if (lost > 0 && why != null) {
      log.log(
          Level.WARNING,
          "spool {0} {1}: dropped the {2} oldest unacknowledged reports, seq {3}..{4} ({5}"
              + " dropped so far)",
          config.dir(),
          why,
          lost,
          Long.toString(s.seqAt(s.acked)),
          Long.toString(s.lastSeq()),
          dropped);
    }
    try {
      s.delete();
    } catch (IOException e) {
      diskErrors++;
      log.log(Level.ERROR, "spool {0}: cannot delete {1}: {2}", config.dir(), s.file, e);
    }
  }

  private void recordDrops(long n) {
    dropped += n;
    writeState(config.fsync() != FsyncPolicy.NEVER);
  }

  private void writeState(boolean sync) {
    if (state == null) return;
    try {
      state.write(dropped, acked, sync);
    } catch (IOException e) {
      diskErrors++;
      log.log(
          Level.ERROR,
          "spool {0}: cannot record {1} dropped, {2} acknowledged in {3}: {4}",
          config.dir(),
          dropped,
          Long.toString(acked),
          state.file(),
          e.toString());
    }
  }

  private void diskFailed(String what, Exception e) {
    diskErrors++;
    diskUsable = false;
    retryDiskAt = nanoClock.getAsLong() + DISK_RETRY_NANOS;
    active = null;
    log.log(
        Level.ERROR,
        "spool {0}: {1} it ({2}); new reports wait in memory (up to {3} reports, {4} bytes) and"
            + " the disk is tried again in 60 s ({5} disk errors so far)",
        config.dir(),
        what,
        e.toString(),
        config.memoryMaxReports(),
        config.memoryMaxBytes(),
        diskErrors);
  }

  private void retryDisk() {
    if (state == null) {
      openDisk();
    } else {
      diskUsable = true;
    }
  }

  private void sync(Segment s) {
    try {
      s.force();
    } catch (IOException e) {
      diskErrors++;
      log.log(Level.ERROR, "spool {0}: fsync of {1} failed: {2}", config.dir(), s.file, e);
    }
  }

  private void syncDirectory() {
    // A new file's name is durable only once its directory is synced.
    try (FileChannel d = FileChannel.open(config.dir(), StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      diskErrors++;
      log.log(Level.WARNING, "spool {0}: fsync of the directory failed: {1}", config.dir(), e);
    }
  }

  /** Syncs what was appended since the last sync: the {@link FsyncPolicy#INTERVAL} tick. */
  public synchronized void flush() {
    for (Segment s : segments) {
      if (s.dirty) sync(s);
    }
  }

  @Override
  public synchronized Optional<HostReport> next(long afterSeq) {
    long from = Math.max(afterSeq, acked);
    Optional<HostReport> disk = nextOnDisk(from);
    Optional<HostReport> mem = memory.next(from);
    if (disk.isEmpty()) return mem;
    if (mem.isEmpty() || disk.get().getSeq() < mem.get().getSeq()) return disk;
    return mem;
  }

  private Optional<HostReport> nextOnDisk(long from) {
    while (true) {
      Segment s = null;
      int i = -1;
      for (Segment t : segments) {
        int k = Math.max(t.firstAbove(from), t.acked);
        if (k < t.count()) {
          s = t;
          i = k;
          break;
        }
      }
      if (s == null) return Optional.empty();
      try {
        return Optional.of(HostReport.parseFrom(s.payload(i)));
      } catch (IOException e) {
        // A checksum that no longer matches, a payload that is not a report, or a read error:
        // that one report is lost; the search goes on with the next.
        lose(s, i, e.getMessage());
      }
    }
  }

  /** A record found damaged after it was spooled: skipped, counted, and rewritten away. */
  private void lose(Segment s, int i, String why) {
    long seq = s.seqAt(i);
    s.forget(i);
    unackedOnDisk--;
    damaged++;
    recordDrops(1);
    log.log(
        Level.WARNING,
        "spool {0}: report seq {1} in {2} is damaged ({3}); skipped and counted as dropped ({4}"
            + " dropped so far)",
        config.dir(),
        Long.toString(seq),
        s.file.getFileName(),
        why,
        dropped);
    if (s == active) seal();
    ArrayDeque<Segment> rebuilt = new ArrayDeque<>();
    for (Segment t : segments) {
      if (t != s) {
        rebuilt.addLast(t);
        continue;
      }
      try {
        totalBytes -= s.size();
        if (s.unacked() == 0) {
          s.delete();
        } else {
          Segment fresh = s.rewrite(config.fsync() != FsyncPolicy.NEVER);
          totalBytes += fresh.size();
          rebuilt.addLast(fresh);
        }
      } catch (IOException e) {
        // Kept as it is: the damaged record stays forgotten in memory.
        totalBytes += s.size();
        rebuilt.addLast(s);
        diskErrors++;
        log.log(Level.ERROR, "spool {0}: cannot rewrite {1}: {2}", config.dir(), s.file, e);
      }
    }
    segments.clear();
    segments.addAll(rebuilt);
  }

  @Override
  public synchronized void ackUpTo(long seq) {
    memory.ackUpTo(seq);
    if (seq <= acked) return;
    acked = seq;
    for (Segment s : segments) {
      int a = s.firstAbove(seq);
      if (a > s.acked) {
        unackedOnDisk -= a - s.acked;
        s.acked = a;
      }
    }
    while (!segments.isEmpty()
        && segments.peekFirst() != active
        && segments.peekFirst().unacked() == 0) {
      Segment done = segments.pollFirst();
      totalBytes -= done.size();
      try {
        done.delete();
      } catch (IOException e) {
        diskErrors++;
        log.log(Level.ERROR, "spool {0}: cannot delete {1}: {2}", config.dir(), done.file, e);
      }
    }
    // A lost ack only means a resend after a restart: no sync.
    writeState(false);
  }

  @Override
  public synchronized int size() {
    return (int) unackedOnDisk + memory.size();
  }

  @Override
  public synchronized long bytes() {
    return totalBytes + memory.bytes();
  }

  /** Reports dropped since the spool directory was created, across restarts. */
  @Override
  public synchronized long dropped() {
    return dropped;
  }

  /** The highest seq this spool has seen (appended, or acknowledged before a restart). */
  public synchronized long lastSeq() {
    return lastSeq;
  }

  private long firstUnackedSeq() {
    for (Segment s : segments) {
      if (s.unacked() > 0) return s.seqAt(s.acked);
    }
    return -1;
  }

  /** Bytes of the segment files on disk. */
  public synchronized long diskBytes() {
    return totalBytes;
  }

  /** Reports waiting in memory because the disk could not be written. */
  public synchronized int inMemory() {
    return memory.size();
  }

  /** Whether appends currently go to disk. */
  public synchronized boolean onDisk() {
    return diskUsable;
  }

  /** Damaged records skipped (each also counted in {@link #dropped()}). */
  public synchronized long damagedRecords() {
    return damaged;
  }

  /** Torn records cut off the end after a crash (each also counted in {@link #dropped()}). */
  public synchronized long tornTails() {
    return tornTails;
  }

  /** Reports larger than the whole spool (each also counted in {@link #dropped()}). */
  public synchronized long oversized() {
    return oversized;
  }

  /** Failed disk operations: opens, writes, syncs, deletes. */
  public synchronized long diskErrors() {
    return diskErrors;
  }

  /**
   * Syncs and closes the files. Reports still waiting in memory (the disk was unusable) are lost
   * with the process: they are counted as dropped first.
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    if (memory.size() > 0) {
      int lost = memory.size();
      recordDrops(lost);
      log.log(
          Level.WARNING,
          "spool {0}: {1} reports held in memory (the disk was unusable) are lost with this stop;"
              + " counted as dropped ({2} so far)",
          config.dir(),
          lost,
          dropped);
    }
    if (config.fsync() != FsyncPolicy.NEVER) flush();
    for (Segment s : segments) {
      try {
        s.close();
      } catch (IOException e) {
        log.log(Level.WARNING, "spool {0}: closing {1}: {2}", config.dir(), s.file, e);
      }
    }
    segments.clear();
    active = null;
    diskUsable = false;
    if (state != null) {
      try {
        state.close();
      } catch (IOException e) {
        log.log(Level.WARNING, "spool {0}: closing {1}: {2}", config.dir(), state.file(), e);
      }
      state = null;
    }
  }
}

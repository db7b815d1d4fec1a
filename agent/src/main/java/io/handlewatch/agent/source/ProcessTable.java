package io.handlewatch.agent.source;

import io.handlewatch.agent.source.natives.LibcFdTableReader;
import io.handlewatch.agent.source.parse.LimitsParser;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.agent.source.parse.ProcStatParser;
import io.handlewatch.agent.source.util.LongIntHashMap;
import io.handlewatch.agent.source.util.SocketInodeIndex;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Walks {@code /proc/PID} for every process: comm and start time ({@code stat}), RLIMIT_NOFILE
 * ({@code limits}), the open fd count ({@code fd/}), and which socket inodes its fds hold ({@code
 * readlink fd/N}).
 *
 * <p>The readlinks are what make peers expensive (one syscall per fd of every process on every
 * interval), so this table keeps an inode-to-pid index between samples and reads a process's fd
 * links again only when it is new, its fd count changed, the caller asks for it, or every {@code
 * fullRescanEvery} samples to catch a table whose count stayed the same while its contents changed.
 * The fd count itself comes from {@code st_size} of {@code /proc/PID/fd} on kernels 6.2+ (constant
 * time), from counting entries elsewhere.
 *
 * <p>Not thread-safe: one sampler owns it.
 */
public final class ProcessTable implements ProcSource<ProcessTable.Walk> {
  private final ProcFs fs;
  private final int fullRescanEvery;
  private final boolean fdCountBySize;
  private final FdTableReader fdReader;
  private final Map<Integer, Cached> cache = new HashMap<>();
  private final SocketInodeIndex inodeToPid = new SocketInodeIndex(1024);
  // One process's socket inodes while its fd links are read, reused from process to process: a
  // buffer per read would be garbage the size of the largest fd table, every rescan. Ints, as Linux
  // numbers socket inodes (4 bytes a socket of the largest table, 128 KiB less at 18,000 sockets a
  // process); an inode wider than 32 bits, which Linux does not hand out, waits in a list apart.
  private int[] linkScratch = new int[1024];
  private long[] wideScratch = new long[0];
  // Pids whose index entries go at the next sweep unless put again before it; and whether anything
  // was put since the last sweep (the next one clears the marks).
  private LongIntHashMap stalePids = new LongIntHashMap(64);
  private boolean indexChanged;
  private long walks;

  /**
   * @param fullRescanEvery read every process's fd links every this many samples (1 = always)
   */
  public ProcessTable(ProcFs fs, int fullRescanEvery) {
    if (fullRescanEvery < 1) {
      throw new IllegalArgumentException(
          "fullRescanEvery must be at least 1, got " + fullRescanEvery);
    }
    this.fs = fs;
    this.fullRescanEvery = fullRescanEvery;
    this.fdCountBySize = fs.isProcfs();
    // Fixture trees hold plain symlinks, which only java.nio reads; a live procfs gets the
    // allocation-free reader when this JVM may call the C library.
    this.fdReader =
        fdCountBySize && LibcFdTableReader.available()
            ? new LibcFdTableReader()
            : new NioFdTableReader();
  }

  /** One process as this sample saw it. */
  public record ProcessInfo(
      int pid,
      String comm,
      long startTicks,
      OptionalLong fds,
      OptionalLong softLimit,
      OptionalLong hardLimit,
      boolean linksKnown) {}

  /** The result of one walk: the processes, and the index from socket inode to process. */
  public final class Walk {
    private final List<ProcessInfo> processes = new ArrayList<>();
    private final LongIntHashMap pidToIndex = new LongIntHashMap(512);
    private final boolean[] rescannedFlags;
    private int rescannedCount;
    long seen;
    long unreadable;
    long vanished;
    long fdsVanished;
    long linksRead;

    private Walk(int expected) {
      rescannedFlags = new boolean[Math.max(16, expected * 2)];
    }

    public List<ProcessInfo> processes() {
      return processes;
    }

    /** Index into {@link #processes()} of the process holding socket {@code inode}, or -1. */
    public int ownerIndex(long inode) {
      int pid = inodeToPid.get(inode);
      if (pid == SocketInodeIndex.MISSING) {
        return -1;
      }
      int i = pidToIndex.get(pid);
      return i == LongIntHashMap.MISSING ? -1 : i;
    }

    public long seen() {
      return seen;
    }

    public long unreadable() {
      return unreadable;
    }

    public long vanished() {
      return vanished;
    }

    public long fdsVanished() {
      return fdsVanished;
    }

    public long rescanned() {
      return rescannedCount;
    }

    public long linksRead() {
      return linksRead;
    }

    private void add(ProcessInfo p, boolean rescanned) {
      pidToIndex.put(p.pid(), processes.size());
      if (rescanned) {
        markRescanned(processes.size());
      }
      processes.add(p);
    }

    private void markRescanned(int index) {
      if (index < rescannedFlags.length && !rescannedFlags[index]) {
        rescannedFlags[index] = true;
        rescannedCount++;
      }
    }

    private boolean wasRescanned(int index) {
      return index < rescannedFlags.length && rescannedFlags[index];
    }
  }

  private static final class Cached {
    long startTicks;
    long fdCount;
    // Sockets found at its last read of the fd links; -1 until one succeeded. The inodes
    // themselves are only in the index: a re-read puts them again and sweeps out the rest.
    int sockets = -1;
  }

  @Override
  public Walk read(Problems problems) throws IOException {
    boolean full = walks++ % fullRescanEvery == 0;
    List<Integer> pids = listPids();
    Walk walk = new Walk(pids.size());
    Map<Integer, Boolean> alive = new HashMap<>(pids.size() * 2);
    for (int pid : pids) {
      walk.seen++;
      ProcessInfo info = readProcess(pid, full, walk, problems);
      if (info != null) {
        alive.put(pid, Boolean.TRUE);
      }
    }
    // Forget processes that exited, and their sockets.
    cache
        .entrySet()
        .removeIf(
            e -> {
              if (alive.containsKey(e.getKey())) {
                return false;
              }
              forgetInodes(e.getKey());
              return true;
            });
    sweepIndex();
    return walk;
  }

  /**
   * Reads fd links again for the processes of {@code walk} that held sockets at their last read and
   * were not read in this walk: for when the socket dump found sockets that no known process owns.
   * Returns how many processes were read.
   */
  public int rescanSocketHolders(Walk walk, Problems problems) {
    int n = 0;
    List<ProcessInfo> ps = walk.processes();
    for (int i = 0; i < ps.size(); i++) {
      ProcessInfo p = ps.get(i);
      Cached c = cache.get(p.pid());
      if (walk.wasRescanned(i) || c == null || c.sockets <= 0) {
        continue;
      }
      if (readLinks(p.pid(), c, walk, problems)) {
        walk.markRescanned(i);
        n++;
      }
    }
    sweepIndex();
    return n;
  }

  /**
   * Sizes the socket index for about {@code sockets} sockets before the walk fills it (the sampler
   * knows the count from sockstat), so the first walk allocates it once.
   */
  public void expectSockets(long sockets) {
    inodeToPid.ensureCapacity((int) Math.min(sockets + sockets / 8, 1 << 26));
  }

  /** Socket inodes currently indexed (for tests and health). */
  public int indexedSockets() {
    return inodeToPid.size();
  }

  private List<Integer> listPids() throws IOException {
    List<Integer> pids = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(fs.root())) {
      for (Path p : dir) {
        String name = p.getFileName().toString();
        if (!name.isEmpty() && name.length() <= 10 && isDigits(name)) {
          long pid = Long.parseLong(name);
          if (pid > 0 && pid <= Integer.MAX_VALUE) {
            pids.add((int) pid);
          }
        }
      }
    }
    pids.sort(null);
    return pids;
  }

  private ProcessInfo readProcess(int pid, boolean full, Walk walk, Problems problems) {
    String base = Integer.toString(pid);
    ProcStatParser.ProcStat stat;
    try {
      stat = ProcStatParser.parse(fs.display(base + "/stat"), fs.readSmall(base + "/stat"));
    } catch (NoSuchFileException e) {
      walk.vanished++;
      return null;
    } catch (ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
      return null;
    } catch (IOException e) {
      if (isGone(e)) {
        walk.vanished++;
      } else {
        problems.skip(SourceErrors.describe(e));
      }
      return null;
    }

    OptionalLong soft = OptionalLong.empty();
    OptionalLong hard = OptionalLong.empty();
    try {
      LimitsParser.NofileLimit lim =
          LimitsParser.parseNofile(fs.display(base + "/limits"), fs.readSmall(base + "/limits"));
      soft = OptionalLong.of(lim.soft());
      hard = OptionalLong.of(lim.hard());
    } catch (IOException | ProcParseException e) {
      if (isGone(e)) {
        walk.vanished++;
        return null;
      }
      problems.skip(SourceErrors.describe(e));
    }

    Cached cached = cache.get(pid);
    if (cached != null && cached.startTicks != stat.startTicks()) {
      // The pid was reused by a new process: nothing cached about the old one applies.
      forgetInodes(pid);
      cache.remove(pid);
      cached = null;
    }

    long fds;
    try {
      fds = countFds(base);
    } catch (AccessDeniedException e) {
      walk.unreadable++;
      return record(walk, pid, stat, OptionalLong.empty(), soft, hard, false, false);
    } catch (IOException e) {
      if (isGone(e)) {
        walk.vanished++;
        return null;
      }
      problems.skip(SourceErrors.describe(e));
      return record(walk, pid, stat, OptionalLong.empty(), soft, hard, false, false);
    }

    boolean changed = cached == null || cached.fdCount != fds || cached.sockets < 0;
    boolean rescanned = false;
    if (full || changed) {
      if (cached == null) {
        cached = new Cached();
        cached.startTicks = stat.startTicks();
        cache.put(pid, cached);
      }
      cached.fdCount = fds;
      rescanned = readLinks(pid, cached, walk, problems);
      if (!rescanned && cached.sockets < 0) {
        return record(walk, pid, stat, OptionalLong.of(fds), soft, hard, false, false);
      }
    }
    return record(walk, pid, stat, OptionalLong.of(fds), soft, hard, true, rescanned);
  }

  private ProcessInfo record(
      Walk walk,
      int pid,
      ProcStatParser.ProcStat stat,
      OptionalLong fds,
      OptionalLong soft,
      OptionalLong hard,
      boolean linksKnown,
      boolean rescanned) {
    ProcessInfo info =
        new ProcessInfo(pid, stat.comm(), stat.startTicks(), fds, soft, hard, linksKnown);
    walk.add(info, rescanned);
    return info;
  }

  private long countFds(String base) throws IOException {
    Path dir = fs.path(base + "/fd");
    if (fdCountBySize) {
      // Linux 6.2+ reports the number of open fds as the directory's size.
      long size = Files.size(dir);
      if (size > 0) {
        return size;
      }
    }
    long n = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path ignored : entries) {
        n++;
      }
    }
    return n;
  }

  /**
   * Reads every fd link of {@code pid} and re-indexes its socket inodes. Returns false (and leaves
   * the index as it was) when the table could not be read.
   */
  private boolean readLinks(int pid, Cached cached, Walk walk, Problems problems) {
    int[] n = {0, 0};
    try {
      FdTableReader.Counts c =
          fdReader.read(
              fs.path(pid + "/fd"),
              inode -> {
                if (!SocketInodeIndex.narrow(inode)) {
                  if (n[1] == wideScratch.length) {
                    wideScratch = Arrays.copyOf(wideScratch, n[1] * 2 + 1);
                  }
                  wideScratch[n[1]++] = inode;
                  return;
                }
                if (n[0] == linkScratch.length) {
                  linkScratch = Arrays.copyOf(linkScratch, n[0] * 2);
                }
                linkScratch[n[0]++] = (int) inode;
              });
      walk.linksRead += c.linksRead();
      walk.fdsVanished += c.vanished();
    } catch (AccessDeniedException e) {
      // Listing or reading links is not allowed (another user, a ptrace policy, another user
      // namespace): one unreadable process, not hundreds of skipped fds.
      walk.unreadable++;
      return false;
    } catch (IOException e) {
      if (isGone(e)) {
        walk.vanished++;
      } else {
        problems.skip(SourceErrors.describe(e));
      }
      return false;
    }
    forgetInodes(pid);
    for (int i = 0; i < n[0]; i++) {
      inodeToPid.put(Integer.toUnsignedLong(linkScratch[i]), pid);
    }
    for (int i = 0; i < n[1]; i++) {
      inodeToPid.put(wideScratch[i], pid);
    }
    indexChanged = true;
    cached.sockets = n[0] + n[1];
    if (linkScratch.length > 1 << 16 && n[0] < 1 << 14) {
      linkScratch = new int[1024]; // one huge table once does not pin its buffer for good
    }
    return true;
  }

  /**
   * The index entries of {@code pid} go at the next sweep, except those put again before it: a
   * process re-read keeps the sockets it still holds, one that exited keeps none.
   */
  private void forgetInodes(int pid) {
    stalePids.put(pid, 1);
  }

  private void sweepIndex() {
    if (stalePids.size() == 0 && !indexChanged) {
      return;
    }
    LongIntHashMap stale = stalePids;
    inodeToPid.sweep(pid -> stale.get(pid) != LongIntHashMap.MISSING);
    stalePids = new LongIntHashMap(64);
    indexChanged = false;
  }

  private static boolean isDigits(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  /** A process that exits mid-read shows up as ENOENT or ESRCH, depending on the file. */
  private static boolean isGone(Exception e) {
    if (e instanceof NoSuchFileException) {
      return true;
    }
    return e instanceof FileSystemException f
        && f.getReason() != null
        && f.getReason().contains("No such process");
  }
}

package io.handlewatch.agent.source.util;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * Socket inode to pid: the process table's index of every socket held by a process on the host, one
 * entry per socket (180,000 at the benchmark's largest load), kept between samples.
 *
 * <p>Kept as a sorted array of inodes and, beside it, each one's owner as a 16-bit slot into a
 * table of the pids that hold sockets: 6 bytes an entry, 1 MiB at 170,000 sockets, where a hash
 * table of int keys and pids at its 3/4 load factor took 2 MiB (and {@link LongIntHashMap} 3). That
 * was most of what the daemon's heap held beyond its size at a thousand sockets (BENCHMARKS.md,
 * "The heap at 180,000 sockets"). Lookups search the stretch of the arrays a small directory points
 * them to; puts of inodes not yet indexed wait in a small hash table until the next {@link #sweep}
 * (or lookup) sorts them in, in place. The first fill, sized by {@link #ensureCapacity}, skips that
 * table: its puts are appended to the arrays unsorted and sorted there once, so that no table the
 * size of the whole index is ever allocated (one of 1.5 MiB at 170,000 sockets, which, dropped
 * after the first sample, still left old-generation pages resident).
 *
 * <p>Entries put since the last {@link #sweep} are marked fresh. A sweep removes the entries of the
 * pids it is given that were not put again, and unmarks the rest: the process table re-puts the
 * sockets of the processes it re-read and sweeps those pids (and the dead ones) once per walk,
 * instead of keeping each process's list of inodes to take out one by one (4 bytes more a socket).
 *
 * <p>Linux numbers sockfs inodes with {@code get_next_ino()}, an unsigned 32-bit counter, and
 * sock_diag carries them as {@code __u32}, so every socket inode fits an int (read as unsigned). A
 * larger one, from a kernel that numbers them otherwise, goes to a side map instead of being lost;
 * so do the entries of processes beyond the {@link #MAX_SLOTS} that hold sockets at once. Inode 0
 * is never a socket's and is not stored.
 */
public final class SocketInodeIndex {
  /** Returned by {@link #get} for an inode that is not present. */
  public static final int MISSING = LongIntHashMap.MISSING;

  /** Processes holding sockets at once that get a slot; more go to the side map. */
  static final int MAX_SLOTS = 0x7FFF;

  private static final long MAX_NARROW = 0xFFFF_FFFFL;
  // Pids are at most 2^22 on Linux: the top bit of a side-map value marks an entry put since the
  // last sweep. An owner slot has 15 bits and the same mark in its 16th.
  private static final int FRESH = 0x8000_0000;
  private static final char FRESH_SLOT = 0x8000;
  private static final char SLOT = 0x7FFF;

  // Sorted: inodes with their sign bit flipped, so that int order is the unsigned order.
  private int[] keys;
  private char[] owners;
  private int size;
  // Where each stretch of inodes begins in the sorted arrays, so that a lookup searches a stretch
  // of about 8 entries rather than all of them: a binary search over 170,000 inodes took 7 times
  // the hash table's time, 20 against 3 ms a sample. 4 bytes per 8 sockets.
  private int[] directory = new int[2];
  private int directoryBase; // the smallest key
  private int directoryShift; // a stretch spans 2^shift keys
  private int stretches;
  private boolean directoryStale;
  // The first fill: keys[0, size) are in put order, not sorted, and may repeat an inode (the last
  // put of it wins). Set only while the index is empty; the next settle sorts them.
  private boolean unsorted;

  // Puts of inodes not in the sorted arrays yet: flipped inode to owner (slot, with its mark).
  private int[] pendingKeys;
  private char[] pendingOwners;
  private int pendingSize;
  private int pendingMask;

  private final LongIntHashMap slotOfPid = new LongIntHashMap(64); // pid + 1 to slot
  private int[] slotPid = new int[16];
  private int[] slotUse = new int[16];
  private int slotCount;
  private int[] freeSlots = new int[16];
  private int freeCount;

  private Map<Long, Integer> wide; // never used on Linux, so a boxed map is fine

  public SocketInodeIndex(int expected) {
    keys = new int[Math.max(16, expected)];
    owners = new char[keys.length];
    resetPending(16);
  }

  /** Whether {@code inode} fits the compact table (every Linux socket inode does). */
  public static boolean narrow(long inode) {
    return inode > 0 && inode <= MAX_NARROW;
  }

  /**
   * Makes room for {@code expected} entries at once when the index is still empty, so that its
   * first fill does not grow step by step: its puts go straight to the arrays, unsorted, until the
   * next lookup or sweep sorts them once. Later, the sorted arrays grow by a sixteenth when they
   * must, and a walk's new sockets wait in a table sized to them.
   */
  public void ensureCapacity(int expected) {
    if (size == 0 && pendingSize == 0) {
      if (keys.length < expected) {
        keys = new int[expected];
        owners = new char[expected];
      }
      unsorted = true;
    } else if (size == 0 && expected > pendingSize) {
      growPending(expected);
    }
  }

  public int size() {
    settle();
    return size + (wide == null ? 0 : wide.size());
  }

  /** The pid {@code inode} maps to, or {@link #MISSING}. */
  public int get(long inode) {
    if (wide != null) {
      Integer v = wide.get(inode);
      if (v != null) {
        return v & ~FRESH;
      }
    }
    if (!narrow(inode)) {
      return MISSING;
    }
    settle();
    int i = indexOf(flip(inode));
    return i < 0 ? MISSING : slotPid[owners[i] & SLOT];
  }

  /** Maps {@code inode} to {@code pid} (0 or more), marked fresh until the next sweep. */
  public void put(long inode, int pid) {
    if (inode == 0) {
      throw new IllegalArgumentException("inode 0 is reserved");
    }
    if (pid < 0) {
      throw new IllegalArgumentException("pid must not be negative: " + pid);
    }
    int slot = narrow(inode) ? slotFor(pid) : -1;
    if (slot < 0) {
      putWide(inode, pid);
      return;
    }
    if (wide != null) {
      wide.remove(inode);
    }
    int key = flip(inode);
    if (unsorted) {
      if (size == keys.length) {
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8, size + size / 16L + 16);
        keys = Arrays.copyOf(keys, capacity);
        owners = Arrays.copyOf(owners, capacity);
      }
      keys[size] = key;
      owners[size] = (char) (slot | FRESH_SLOT);
      size++;
      return;
    }
    int i = indexOf(key);
    if (i >= 0) {
      owners[i] = (char) (slot | FRESH_SLOT);
      return;
    }
    if ((pendingSize + 1) * 4L > pendingKeys.length * 3L) {
      growPending(pendingKeys.length);
    }
    insertPending(key, (char) (slot | FRESH_SLOT));
  }

  /**
   * Removes every entry whose pid {@code stale} accepts and that was not put since the last sweep,
   * then unmarks all entries: one pass over the arrays (about a millisecond at 180,000 sockets).
   */
  public void sweep(IntPredicate stale) {
    settle();
    Arrays.fill(slotUse, 0, slotCount, 0);
    int w = 0;
    for (int i = 0; i < size; i++) {
      char o = owners[i];
      int slot = o & SLOT;
      if ((o & FRESH_SLOT) == 0 && stale.test(slotPid[slot])) {
        continue;
      }
      keys[w] = keys[i];
      owners[w] = (char) slot;
      slotUse[slot]++;
      w++;
    }
    size = w;
    directoryStale = true;
    if (keys.length > 4096 && size < keys.length / 4) {
      // Most sockets closed: give back what the arrays held for them.
      keys = Arrays.copyOf(keys, size + size / 16 + 16);
      owners = Arrays.copyOf(owners, keys.length);
    }
    for (int s = 0; s < slotCount; s++) {
      if (slotUse[s] == 0 && slotPid[s] >= 0) {
        slotOfPid.remove(slotPid[s] + 1L, s);
        slotPid[s] = -1;
        freeSlots = grown(freeSlots, freeCount + 1);
        freeSlots[freeCount++] = s;
      }
    }
    if (wide != null) {
      wide.values().removeIf(v -> (v & FRESH) == 0 && stale.test(v));
      wide.replaceAll((k, v) -> v & ~FRESH);
    }
  }

  /** Sorts the inodes put since the last settle into the sorted arrays. */
  private void settle() {
    if (unsorted) {
      settleUnsorted();
    }
    if (pendingSize == 0) {
      return;
    }
    int m = pendingSize;
    if (size + m > keys.length) {
      int capacity = (int) Math.min(Integer.MAX_VALUE - 8, (size + m) + (size + m) / 16L + 16);
      keys = Arrays.copyOf(keys, capacity);
      owners = Arrays.copyOf(owners, capacity);
    }
    // The pending entries to the front of their own arrays, sorted there; then the two sorted runs
    // merge from the back into the grown arrays, where the write position never passes an unread
    // entry of the first run.
    int t = 0;
    for (int i = 0; i < pendingKeys.length; i++) {
      if (pendingOwners[i] != 0) { // every pending owner carries the fresh mark, so is never 0
        pendingKeys[t] = pendingKeys[i];
        pendingOwners[t] = pendingOwners[i];
        t++;
      }
    }
    heapSort(pendingKeys, pendingOwners, 0, m);
    int a = size - 1;
    int b = m - 1;
    for (int w = size + m - 1; b >= 0; w--) {
      if (a >= 0 && keys[a] > pendingKeys[b]) {
        keys[w] = keys[a];
        owners[w] = owners[a];
        a--;
      } else {
        keys[w] = pendingKeys[b];
        owners[w] = pendingOwners[b];
        b--;
      }
    }
    size += m;
    directoryStale = true;
    if (pendingKeys.length > 1024) {
      resetPending(16); // the first fill's table is the size of the whole index: not kept
    } else {
      Arrays.fill(pendingOwners, (char) 0);
      pendingSize = 0;
    }
  }

  /**
   * Sorts the first fill in place. The sort is stable, so that of an inode put more than once (a
   * socket inherited across a fork is held by both processes) the last put stays, as a put to the
   * sorted arrays or the pending table would have left it.
   */
  private void settleUnsorted() {
    unsorted = false;
    stableSort(keys, owners, size);
    int w = 0;
    for (int i = 0; i < size; i++) {
      if (i + 1 < size && keys[i + 1] == keys[i]) {
        continue;
      }
      keys[w] = keys[i];
      owners[w] = owners[i];
      w++;
    }
    size = w;
    directoryStale = true;
  }

  /** Where {@code key} is in the sorted arrays, or a negative number. */
  private int indexOf(int key) {
    if (directoryStale) {
      buildDirectory();
    }
    long offset = (long) key - directoryBase;
    if (offset < 0 || offset >>> directoryShift >= stretches) {
      return -1;
    }
    int b = (int) (offset >>> directoryShift);
    return Arrays.binarySearch(keys, directory[b], directory[b + 1], key);
  }

  private void buildDirectory() {
    directoryStale = false;
    stretches = 0;
    if (size == 0) {
      return;
    }
    directoryBase = keys[0];
    long range = (long) keys[size - 1] - directoryBase + 1;
    int wanted = Math.max(1, size / 8);
    directoryShift = 0;
    while (range >>> directoryShift > wanted) {
      directoryShift++;
    }
    stretches = (int) ((range - 1 >>> directoryShift) + 1);
    if (directory.length < stretches + 1 || directory.length > 2 * stretches + 64) {
      directory = new int[stretches + 1];
    }
    int i = 0;
    for (int b = 0; b < stretches; b++) {
      long start = directoryBase + ((long) b << directoryShift);
      while (i < size && keys[i] < start) {
        i++;
      }
      directory[b] = i;
    }
    directory[stretches] = size;
  }

  private int slotFor(int pid) {
    int s = slotOfPid.get(pid + 1L);
    if (s != LongIntHashMap.MISSING) {
      return s;
    }
    if (freeCount > 0) {
      s = freeSlots[--freeCount];
    } else if (slotCount < MAX_SLOTS) {
      s = slotCount++;
      slotPid = grown(slotPid, slotCount);
      slotUse = grown(slotUse, slotCount);
    } else {
      return -1;
    }
    slotPid[s] = pid;
    slotOfPid.put(pid + 1L, s);
    return s;
  }

  /** An inode wider than 32 bits, or one whose process found no free slot. */
  private void putWide(long inode, int pid) {
    if (wide == null) {
      wide = new HashMap<>();
    }
    wide.put(inode, pid | FRESH);
    if (narrow(inode)) {
      // Only when more than MAX_SLOTS processes hold sockets: the inode leaves the arrays, so that
      // a sweep of its new owner cannot bring back its old one.
      settle();
      int i = indexOf(flip(inode));
      if (i >= 0) {
        System.arraycopy(keys, i + 1, keys, i, size - i - 1);
        System.arraycopy(owners, i + 1, owners, i, size - i - 1);
        size--;
        directoryStale = true;
      }
    }
  }

  private void insertPending(int key, char owner) {
    for (int i = pendingSlot(key); ; i = (i + 1) & pendingMask) {
      if (pendingOwners[i] == 0) {
        pendingKeys[i] = key;
        pendingOwners[i] = owner;
        pendingSize++;
        return;
      }
      if (pendingKeys[i] == key) {
        pendingOwners[i] = owner;
        return;
      }
    }
  }

  private void growPending(int expected) {
    int cap = 16;
    while (cap * 3L / 4 < expected) {
      cap <<= 1;
    }
    if (cap <= pendingKeys.length) {
      return;
    }
    int[] oldKeys = pendingKeys;
    char[] oldOwners = pendingOwners;
    resetPending(cap);
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldOwners[i] != 0) {
        insertPending(oldKeys[i], oldOwners[i]);
      }
    }
  }

  private void resetPending(int capacity) {
    pendingKeys = new int[capacity];
    pendingOwners = new char[capacity];
    pendingMask = capacity - 1;
    pendingSize = 0;
  }

  private int pendingSlot(int key) {
    int h = key * 0x9E3779B9;
    return (h ^ (h >>> 16)) & pendingMask;
  }

  private static int flip(long inode) {
    return (int) inode ^ Integer.MIN_VALUE;
  }

  private static int[] grown(int[] a, int needed) {
    return needed <= a.length ? a : Arrays.copyOf(a, Math.max(needed, a.length * 2));
  }

  /**
   * Sorts {@code keys[0, n)} ascending, moving {@code owners} along, in place and stable: insertion
   * sort of blocks of 20, then merges of the blocks by rotation (SymMerge, Kim and Kutzner 2004, as
   * Go's sort.Stable does it), O(n log^2 n) moves and no buffer; about 20 ms at 170,000 entries,
   * once.
   */
  static void stableSort(int[] keys, char[] owners, int n) {
    int block = 20;
    int a = 0;
    for (int b = block; b <= n; b += block) {
      insertionSort(keys, owners, a, b);
      a = b;
    }
    insertionSort(keys, owners, a, n);
    while (block < n) {
      a = 0;
      for (int b = 2 * block; b <= n; b += 2 * block) {
        symMerge(keys, owners, a, a + block, b);
        a = b;
      }
      if (a + block < n) {
        symMerge(keys, owners, a, a + block, n);
      }
      block *= 2;
    }
  }

  private static void insertionSort(int[] keys, char[] owners, int a, int b) {
    for (int i = a + 1; i < b; i++) {
      for (int j = i; j > a && keys[j] < keys[j - 1]; j--) {
        swap(keys, owners, j, j - 1);
      }
    }
  }

  /** Merges the sorted runs [a, m) and [m, b), stably, in place. */
  private static void symMerge(int[] keys, char[] owners, int a, int m, int b) {
    if (m - a == 1) {
      // One entry in front: it goes before the first of the second run not smaller than it.
      int i = m;
      int j = b;
      while (i < j) {
        int h = (i + j) >>> 1;
        if (keys[h] < keys[a]) {
          i = h + 1;
        } else {
          j = h;
        }
      }
      for (int k = a; k < i - 1; k++) {
        swap(keys, owners, k, k + 1);
      }
      return;
    }
    if (b - m == 1) {
      // One entry behind: it goes after the last of the first run not greater than it.
      int i = a;
      int j = m;
      while (i < j) {
        int h = (i + j) >>> 1;
        if (!(keys[m] < keys[h])) {
          i = h + 1;
        } else {
          j = h;
        }
      }
      for (int k = m; k > i; k--) {
        swap(keys, owners, k, k - 1);
      }
      return;
    }
    int mid = (a + b) >>> 1;
    int n = mid + m;
    int start;
    int r;
    if (m > mid) {
      start = n - b;
      r = mid;
    } else {
      start = a;
      r = m;
    }
    int p = n - 1;
    while (start < r) {
      int c = (start + r) >>> 1;
      if (!(keys[p - c] < keys[c])) {
        start = c + 1;
      } else {
        r = c;
      }
    }
    int end = n - start;
    if (start < m && m < end) {
      rotate(keys, owners, start, m, end);
    }
    if (a < start && start < mid) {
      symMerge(keys, owners, a, start, mid);
    }
    if (mid < end && end < b) {
      symMerge(keys, owners, mid, end, b);
    }
  }

  /** Swaps the blocks [a, m) and [m, b). */
  private static void rotate(int[] keys, char[] owners, int a, int m, int b) {
    int i = m - a;
    int j = b - m;
    while (i != j) {
      if (i > j) {
        swapRange(keys, owners, m - i, m, j);
        i -= j;
      } else {
        swapRange(keys, owners, m - i, m + j - i, i);
        j -= i;
      }
    }
    swapRange(keys, owners, m - i, m, i);
  }

  private static void swapRange(int[] keys, char[] owners, int a, int b, int n) {
    for (int i = 0; i < n; i++) {
      swap(keys, owners, a + i, b + i);
    }
  }

  /** Sorts {@code keys[from, from + n)} ascending, moving {@code owners} along; in place. */
  private static void heapSort(int[] keys, char[] owners, int from, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(keys, owners, from, i, n);
    }
    for (int end = n - 1; end > 0; end--) {
      swap(keys, owners, from, from + end);
      siftDown(keys, owners, from, 0, end);
    }
  }

  private static void siftDown(int[] keys, char[] owners, int from, int i, int n) {
    while (true) {
      int child = 2 * i + 1;
      if (child >= n) {
        return;
      }
      if (child + 1 < n && keys[from + child + 1] > keys[from + child]) {
        child++;
      }
      if (keys[from + i] >= keys[from + child]) {
        return;
      }
      swap(keys, owners, from + i, from + child);
      i = child;
    }
  }

  private static void swap(int[] keys, char[] owners, int i, int j) {
    int k = keys[i];
    keys[i] = keys[j];
    keys[j] = k;
    char o = owners[i];
    owners[i] = owners[j];
    owners[j] = o;
  }
}

package io.handlewatch.agent.source.util;

import java.util.HashMap;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * Socket inode to pid: the process table's index of every socket held by a process on the host, one
 * entry per socket (180,000 at the benchmark's largest load), kept between samples. Open addressing
 * with int keys: 8 bytes a slot where {@link LongIntHashMap} takes 12, which is 1 MiB of the
 * agent's heap at that load (BENCHMARKS.md, issue 12's RSS).
 *
 * <p>Entries put since the last {@link #sweep} are marked fresh. A sweep removes the entries of the
 * pids it is given that were not put again, and unmarks the rest: the process table re-puts the
 * sockets of the processes it re-read and sweeps those pids (and the dead ones) once per walk,
 * instead of keeping each process's list of inodes to take out one by one (4 bytes more a socket).
 *
 * <p>Linux numbers sockfs inodes with {@code get_next_ino()}, an unsigned 32-bit counter, and
 * sock_diag carries them as {@code __u32}, so every socket inode fits an int (read as unsigned). A
 * larger one, from a kernel that numbers them otherwise, goes to a side map instead of being lost.
 * Inode 0 is never a socket's and is not stored.
 */
public final class SocketInodeIndex {
  /** Returned by {@link #get} for an inode that is not present. */
  public static final int MISSING = LongIntHashMap.MISSING;

  private static final long MAX_NARROW = 0xFFFF_FFFFL;
  // Pids are at most 2^22 on Linux: the top bit of a value marks an entry put since the last sweep.
  private static final int FRESH = 0x8000_0000;

  private int[] keys;
  private int[] values;
  private int size;
  private int mask;
  private Map<Long, Integer> wide; // never used on Linux, so a boxed map is fine

  public SocketInodeIndex(int expected) {
    int cap = capacityFor(expected, 16);
    keys = new int[cap];
    values = new int[cap];
    mask = cap - 1;
  }

  /** Whether {@code inode} fits the compact table (every Linux socket inode does). */
  public static boolean narrow(long inode) {
    return inode > 0 && inode <= MAX_NARROW;
  }

  /**
   * Makes room for {@code expected} entries at once, so that filling does not grow step by step.
   */
  public void ensureCapacity(int expected) {
    if (expected * 4L > keys.length * 3L) {
      rehash(capacityFor(expected, keys.length));
    }
  }

  public int size() {
    return size + (wide == null ? 0 : wide.size());
  }

  /** The pid {@code inode} maps to, or {@link #MISSING}. */
  public int get(long inode) {
    if (!narrow(inode)) {
      Integer v = wide == null ? null : wide.get(inode);
      return v == null ? MISSING : v & ~FRESH;
    }
    int key = (int) inode;
    for (int i = slot(key); ; i = (i + 1) & mask) {
      int k = keys[i];
      if (k == key) {
        return values[i] & ~FRESH;
      }
      if (k == 0) {
        return MISSING;
      }
    }
  }

  /** Maps {@code inode} to {@code pid} (0 or more), marked fresh until the next sweep. */
  public void put(long inode, int pid) {
    if (inode == 0) {
      throw new IllegalArgumentException("inode 0 is reserved");
    }
    if (pid < 0) {
      throw new IllegalArgumentException("pid must not be negative: " + pid);
    }
    int value = pid | FRESH;
    if (!narrow(inode)) {
      if (wide == null) {
        wide = new HashMap<>();
      }
      wide.put(inode, value);
      return;
    }
    // Load factor 3/4, as in LongIntHashMap: probe runs stay short for inodes handed out in order.
    if ((size + 1) * 4L > keys.length * 3L) {
      rehash(keys.length * 2);
    }
    insert((int) inode, value);
  }

  /**
   * Removes every entry whose pid {@code stale} accepts and that was not put since the last sweep,
   * then unmarks all entries: one pass over the table (about a millisecond at 180,000 sockets).
   */
  public void sweep(IntPredicate stale) {
    // Removals first: a backward shift can move an entry already passed into the current slot (from
    // the table's start, on wrap-around), and the removal test gives the same answer when it meets
    // an entry twice only while no mark has been cleared.
    for (int i = 0; i < keys.length; ) {
      int v = values[i];
      if (keys[i] != 0 && (v & FRESH) == 0 && stale.test(v)) {
        deleteAt(i); // the slot now holds a later entry, or is empty: look at it again
      } else {
        i++;
      }
    }
    for (int i = 0; i < values.length; i++) {
      values[i] &= ~FRESH;
    }
    if (wide != null) {
      wide.values().removeIf(v -> (v & FRESH) == 0 && stale.test(v));
      wide.replaceAll((k, v) -> v & ~FRESH);
    }
  }

  private void insert(int key, int value) {
    for (int i = slot(key); ; i = (i + 1) & mask) {
      if (keys[i] == key) {
        values[i] = value;
        return;
      }
      if (keys[i] == 0) {
        keys[i] = key;
        values[i] = value;
        size++;
        return;
      }
    }
  }

  private void deleteAt(int hole) {
    // Backward-shift deletion, as in LongIntHashMap: get() never stops early at an empty slot.
    int i = hole;
    while (true) {
      i = (i + 1) & mask;
      int k = keys[i];
      if (k == 0) {
        break;
      }
      int home = slot(k);
      boolean movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
      if (movable) {
        keys[hole] = k;
        values[hole] = values[i];
        hole = i;
      }
    }
    keys[hole] = 0;
    values[hole] = 0;
    size--;
  }

  private void rehash(int capacity) {
    int[] oldKeys = keys;
    int[] oldValues = values;
    keys = new int[capacity];
    values = new int[capacity];
    mask = capacity - 1;
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != 0) {
        insert(oldKeys[i], oldValues[i]); // keeps each entry's mark
      }
    }
  }

  private static int capacityFor(int expected, int atLeast) {
    int cap = atLeast;
    while (cap * 3L / 4 < expected) {
      cap <<= 1;
    }
    return cap;
  }

  private int slot(int key) {
    int h = key * 0x9E3779B9;
    return (h ^ (h >>> 16)) & mask;
  }
}

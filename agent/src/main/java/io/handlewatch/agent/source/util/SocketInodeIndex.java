package io.handlewatch.agent.source.util;

/**
 * Socket inode to pid: the process table's index of every socket held by a process on the host, one
 * entry per socket (180,000 at the benchmark's largest load), kept between samples. Open addressing
 * with int keys: 8 bytes a slot where {@link LongIntHashMap} takes 12, which is 1 MiB of the
 * agent's heap at that load (BENCHMARKS.md, issue 12's RSS).
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

  private int[] keys;
  private int[] values;
  private int size;
  private int mask;
  private LongIntHashMap wide;

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

  public int get(long inode) {
    if (!narrow(inode)) {
      return wide == null ? MISSING : wide.get(inode);
    }
    int key = (int) inode;
    for (int i = slot(key); ; i = (i + 1) & mask) {
      int k = keys[i];
      if (k == key) {
        return values[i];
      }
      if (k == 0) {
        return MISSING;
      }
    }
  }

  public void put(long inode, int value) {
    if (inode == 0) {
      throw new IllegalArgumentException("inode 0 is reserved");
    }
    if (!narrow(inode)) {
      if (wide == null) {
        wide = new LongIntHashMap(16);
      }
      wide.put(inode, value);
      return;
    }
    // Load factor 3/4, as in LongIntHashMap: probe runs stay short for inodes handed out in order.
    if ((size + 1) * 4L > keys.length * 3L) {
      rehash(keys.length * 2);
    }
    int key = (int) inode;
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

  /** Removes {@code inode} if present, but only while it still maps to {@code expected}. */
  public void remove(long inode, int expected) {
    if (!narrow(inode)) {
      if (wide != null) {
        wide.remove(inode, expected);
      }
      return;
    }
    int key = (int) inode;
    for (int i = slot(key); ; i = (i + 1) & mask) {
      int k = keys[i];
      if (k == 0) {
        return;
      }
      if (k == key) {
        if (values[i] == expected) {
          deleteAt(i);
        }
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
        put(oldKeys[i] & MAX_NARROW, oldValues[i]);
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

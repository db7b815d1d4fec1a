package io.handlewatch.agent.source.util;

/**
 * A long to int hash map with open addressing (linear probing, backward-shift deletion). The socket
 * inode index holds one entry per socket on the host (100k+), and boxing each key as a Long would
 * cost more than the dump itself; the JDK has no primitive map and pulling in a collections library
 * for one map would double the agent's jar.
 *
 * <p>Key 0 is reserved (socket inodes are never 0; TIME_WAIT sockets report 0 and are never
 * indexed).
 */
public final class LongIntHashMap {
  /** Returned by {@link #get} for a key that is not present. */
  public static final int MISSING = Integer.MIN_VALUE;

  private long[] keys;
  private int[] values;
  private int size;
  private int mask;

  public LongIntHashMap(int expected) {
    int cap = 16;
    while (cap * 3L / 4 < expected) {
      cap <<= 1;
    }
    keys = new long[cap];
    values = new int[cap];
    mask = cap - 1;
  }

  /**
   * Makes room for {@code expected} entries at once, so that filling the map does not leave a trail
   * of outgrown arrays behind (at 170k sockets they would double the agent's heap peak).
   */
  public void ensureCapacity(int expected) {
    if (expected * 4L > keys.length * 3L) {
      int cap = keys.length;
      while (cap * 3L / 4 < expected) {
        cap <<= 1;
      }
      rehash(cap);
    }
  }

  public int size() {
    return size;
  }

  public int get(long key) {
    for (int i = slot(key); ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return values[i];
      }
      if (k == 0) {
        return MISSING;
      }
    }
  }

  public void put(long key, int value) {
    if (key == 0) {
      throw new IllegalArgumentException("key 0 is reserved");
    }
    // Load factor 3/4: the index holds one entry per socket on the host, so its size is the
    // agent's largest heap cost; linear probing stays short at this load for keys this random.
    if ((size + 1) * 4L > keys.length * 3L) {
      grow();
    }
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

  /** Removes {@code key} if present, but only while it still maps to {@code expected}. */
  public void remove(long key, int expected) {
    for (int i = slot(key); ; i = (i + 1) & mask) {
      long k = keys[i];
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
    // Backward-shift: pull later entries of the same probe run into the hole so get() never
    // stops early at an empty slot.
    int i = hole;
    while (true) {
      i = (i + 1) & mask;
      long k = keys[i];
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

  private void grow() {
    rehash(keys.length * 2);
  }

  private void rehash(int capacity) {
    long[] oldKeys = keys;
    int[] oldValues = values;
    keys = new long[capacity];
    values = new int[capacity];
    mask = keys.length - 1;
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != 0) {
        put(oldKeys[i], oldValues[i]);
      }
    }
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }
}

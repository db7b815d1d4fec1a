package io.handlewatch.collector.detect;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The recent history of one value (a process's fds, a host's CLOSE_WAIT count, ...) in fixed-width
 * time buckets: the minimum and maximum of the samples in each, in a ring that covers the window
 * plus the bucket being filled. Not thread-safe: one host's window is touched by its detection
 * shard's thread only.
 *
 * <p>Stored compactly, and exactly as floats would hold them: the values are counts, so while every
 * value in the window is a whole number they are kept as offsets from the window's lowest value in
 * the narrowest width that holds their spread (4 bits for a spread under 15, 8 under 255, 16 under
 * 65,535), in one byte array. A value with a fraction, or a spread wider than that, turns the
 * window into 32-bit floats; it narrows again once such values have left it. A 30-minute window at
 * 30 s (61 buckets) costs 61 bytes for a small count that wobbles, 122 for one in a band of a
 * couple of hundred, against 488 as floats; a window that holds no sample yet costs no array.
 */
final class SeriesWindow {
  private static final VarHandle CHAR =
      MethodHandles.byteArrayViewVarHandle(char[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** Storage widths, in bits per slot; each integer width keeps its largest code for "empty". */
  private static final byte NIBBLE = 4;

  private static final byte BYTE = 8;
  private static final byte WIDE = 16;
  private static final byte FLOAT = 32;

  private static final int EMPTY_FLOAT = Float.floatToRawIntBits(Float.NaN);

  /** Buckets between two attempts to narrow the storage again. */
  private static final int NARROW_EVERY = 8;

  /** Slots 2i (minimum) and 2i+1 (maximum) of ring position i, in {@link #width} bits each. */
  private byte[] data;

  private final int buckets;

  /** The integer widths hold {@code value - base}. */
  private int base;

  private long newest = Long.MIN_VALUE;
  private long oldest = Long.MIN_VALUE;
  private double last = Double.NaN;
  private long lastMs;

  SeriesWindow(int buckets) {
    this.buckets = buckets;
  }

  /** Adds a sample at {@code timeMs} falling in bucket {@code bucket}. */
  void add(long bucket, long timeMs, double value) {
    if (Double.isNaN(value)) return;
    int cap = buckets;
    if (newest == Long.MIN_VALUE || bucket >= newest + cap) {
      clear();
      newest = bucket;
      oldest = bucket;
    } else if (bucket > newest) {
      for (long b = newest + 1; b <= bucket; b++) {
        int i = index(b);
        setEmpty(2 * i);
        setEmpty(2 * i + 1);
      }
      newest = bucket;
      if (Math.floorMod(bucket, (long) NARROW_EVERY) == 0) narrow();
    } else if (bucket <= newest - cap) {
      return; // older than the window: a late replay the trend no longer needs
    }
    int i = index(bucket);
    float v = (float) value;
    float lo = get(2 * i);
    if (Float.isNaN(lo)) {
      put(2 * i, v);
      put(2 * i + 1, v);
    } else {
      if (v < lo) put(2 * i, v);
      if (v > get(2 * i + 1)) put(2 * i + 1, v);
    }
    if (timeMs >= lastMs) {
      last = value;
      lastMs = timeMs;
    }
  }

  private int index(long bucket) {
    return (int) Math.floorMod(bucket, (long) buckets);
  }

  /** The newest sample's value, NaN before any. */
  double last() {
    return last;
  }

  long lastMs() {
    return lastMs;
  }

  long newestBucket() {
    return newest;
  }

  /** The first bucket of this series' unbroken history (a gap longer than the window resets it). */
  long oldestBucket() {
    return oldest;
  }

  /**
   * Copies the buckets from {@code firstBucket} through {@code lastBucket} that hold samples,
   * oldest first, into {@code t} (bucket number), {@code lo} and {@code hi}; returns how many.
   */
  int copy(long firstBucket, long lastBucket, double[] t, double[] lo, double[] hi) {
    if (newest == Long.MIN_VALUE) return 0;
    long from = Math.max(firstBucket, newest - buckets + 1);
    long to = Math.min(lastBucket, newest);
    int n = 0;
    for (long b = from; b <= to; b++) {
      int i = index(b);
      float min = get(2 * i);
      if (Float.isNaN(min)) continue;
      t[n] = b;
      lo[n] = min;
      hi[n] = get(2 * i + 1);
      n++;
    }
    return n;
  }

  /**
   * A window holding {@code value} in every bucket before {@code before} where {@code shape} has a
   * sample, as old as {@code shape}: the history of a count that was known to be zero (a process's
   * CLOSE_WAIT sockets while it held none) when it first becomes non-zero, so that growth from zero
   * is growth.
   */
  static SeriesWindow filledLike(SeriesWindow shape, long before, int buckets, double value) {
    SeriesWindow w = new SeriesWindow(buckets);
    if (shape.newest == Long.MIN_VALUE) return w;
    long from = Math.max(shape.oldest, shape.newest - shape.buckets + 1);
    for (long b = from; b <= Math.min(shape.newest, before - 1); b++) {
      if (Float.isNaN(shape.get(2 * shape.index(b)))) continue;
      w.add(b, shape.lastMs, value);
    }
    w.oldest = shape.oldest;
    return w;
  }

  /** The lowest value from {@code bucket} on, NaN when no sample is that recent. */
  double minSince(long bucket) {
    double m = Double.NaN;
    if (newest == Long.MIN_VALUE) return m;
    for (long b = Math.max(bucket, newest - buckets + 1); b <= newest; b++) {
      float v = get(2 * index(b));
      if (!Float.isNaN(v) && !(v >= m)) m = v;
    }
    return m;
  }

  /** The bytes its values take (the array's payload), for tests and benchmarks. */
  int bytes() {
    return data == null ? 0 : data.length;
  }

  // Storage. Codes are the raw slot contents; get and put speak floats.

  private void clear() {
    data = null;
  }

  /** The storage width, told by the array's length (no field: one per series adds up). */
  private byte width() {
    if (data == null) return NIBBLE;
    int perBucket = data.length / buckets;
    return perBucket == 1 ? NIBBLE : perBucket == 2 ? BYTE : perBucket == 4 ? WIDE : FLOAT;
  }

  private int bytesFor(byte w) {
    return w == NIBBLE ? buckets : 2 * buckets * (w / 8);
  }

  private static int emptyCode(byte w) {
    return w == FLOAT ? EMPTY_FLOAT : (1 << w) - 1;
  }

  private int code(int slot) {
    return switch (width()) {
      case NIBBLE -> (data[slot >> 1] >> ((slot & 1) << 2)) & 0xF;
      case BYTE -> data[slot] & 0xFF;
      case WIDE -> (char) CHAR.get(data, slot << 1);
      default -> (int) INT.get(data, slot << 2);
    };
  }

  private void setCode(int slot, int code) {
    switch (width()) {
      case NIBBLE -> {
        int shift = (slot & 1) << 2;
        int j = slot >> 1;
        data[j] = (byte) ((data[j] & ~(0xF << shift)) | (code << shift));
      }
      case BYTE -> data[slot] = (byte) code;
      case WIDE -> CHAR.set(data, slot << 1, (char) code);
      default -> INT.set(data, slot << 2, code);
    }
  }

  private void setEmpty(int slot) {
    if (data != null) setCode(slot, emptyCode(width()));
  }

  private float get(int slot) {
    if (data == null) return Float.NaN;
    int c = code(slot);
    byte w = width();
    if (w == FLOAT) return Float.intBitsToFloat(c);
    return c == emptyCode(w) ? Float.NaN : (float) (base + c);
  }

  /** Whether {@code v} is a whole number an offset can hold exactly (and not -0). */
  private static boolean whole(float v) {
    return v == Math.rint(v)
        && Math.abs(v) <= (1 << 30)
        && (v != 0 || Float.floatToRawIntBits(v) == 0);
  }

  private void put(int slot, float v) {
    if (data == null) {
      data = new byte[bytesFor(NIBBLE)];
      Arrays.fill(data, (byte) 0xFF);
      if (whole(v)) base = (int) v;
    }
    if (width() != FLOAT) {
      if (!whole(v)) {
        recode(FLOAT, 0);
      } else {
        int iv = (int) v;
        if (iv < base || (long) iv - base >= emptyCode(width())) {
          int[] span = span();
          int lo = span == null ? iv : Math.min(iv, span[0]);
          int hi = span == null ? iv : Math.max(iv, span[1]);
          recode(widthFor(lo, hi), lo);
        }
      }
    }
    if (width() == FLOAT) setCode(slot, Float.floatToRawIntBits(v));
    else setCode(slot, (int) v - base);
  }

  /** The lowest and highest whole value held; null when none. */
  private int[] span() {
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    int empty = emptyCode(width());
    for (int s = 0; s < 2 * buckets; s++) {
      int c = code(s);
      if (c == empty) continue;
      int v = base + c;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo > hi ? null : new int[] {lo, hi};
  }

  private static byte widthFor(int lo, int hi) {
    long spread = (long) hi - lo;
    if (spread < 15) return NIBBLE;
    if (spread < 255) return BYTE;
    if (spread < 65_535) return WIDE;
    return FLOAT;
  }

  /** Once wide values have left the window, holds the rest in the narrowest width again. */
  private void narrow() {
    if (data == null) return;
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    for (int s = 0; s < 2 * buckets; s++) {
      float v = get(s);
      if (Float.isNaN(v)) continue;
      if (!whole(v)) return;
      int iv = (int) v;
      if (iv < lo) lo = iv;
      if (iv > hi) hi = iv;
    }
    if (lo > hi) return;
    byte w = widthFor(lo, hi);
    byte now = width();
    if (w != now || (lo != base && now != FLOAT)) recode(w, lo);
  }

  /** Re-encodes every slot in width {@code w} with offsets from {@code newBase}. */
  private void recode(byte w, int newBase) {
    int slots = 2 * buckets;
    float[] values = new float[slots];
    for (int s = 0; s < slots; s++) values[s] = get(s);
    base = newBase;
    data = new byte[bytesFor(w)];
    for (int s = 0; s < slots; s++) {
      if (Float.isNaN(values[s])) setCode(s, emptyCode(w));
      else setCode(s, w == FLOAT ? Float.floatToRawIntBits(values[s]) : (int) values[s] - newBase);
    }
  }
}

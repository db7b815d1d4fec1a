package io.handlewatch.collector.store.memory;

import java.util.Arrays;

/**
 * The history of one series (a measurement and one tag set) of one host, in columns: one {@code
 * long[]} of times (epoch ms, ascending) and one {@code double[]} per numeric field, plus a {@code
 * String[]} per text field (a sysctl's value; unchanged values share one String). Live samples are
 * {@code [start, end)}; eviction moves {@code start} and shrinks the arrays when they are mostly
 * empty. Not thread-safe: its {@link HostHistory} serializes access.
 */
final class Series {
  private static final int MIN_CAPACITY = 4;

  /** Object headers and fields of this object and its arrays, beyond the elements themselves. */
  private static final int OVERHEAD = 64;

  final String measurement;
  final String[] tagKeys;
  final String[] tagValues;
  final String[] numericFields;
  final String[] textFields;
  private long[] times = new long[0];
  private double[][] numeric;
  private String[][] text;
  private int start;
  private int end;

  Series(
      String measurement,
      String[] tagKeys,
      String[] tagValues,
      String[] numericFields,
      String[] textFields) {
    this.measurement = measurement;
    this.tagKeys = tagKeys;
    this.tagValues = tagValues;
    this.numericFields = numericFields;
    this.textFields = textFields;
    numeric = new double[numericFields.length][0];
    text = new String[textFields.length][0];
  }

  int size() {
    return end - start;
  }

  long timeAt(int i) {
    return times[start + i];
  }

  double numericAt(int field, int i) {
    return numeric[field][start + i];
  }

  String textAt(int field, int i) {
    return text[field][start + i];
  }

  int numericField(String name) {
    for (int i = 0; i < numericFields.length; i++) if (numericFields[i].equals(name)) return i;
    return -1;
  }

  int textField(String name) {
    for (int i = 0; i < textFields.length; i++) if (textFields[i].equals(name)) return i;
    return -1;
  }

  /** Bytes this series holds: its arrays at their capacity, plus a fixed overhead. */
  long bytes() {
    long perSample = 8L + 8L * numericFields.length + 4L * textFields.length;
    return OVERHEAD
        + (long) times.length * perSample
        + 16L * (numericFields.length + textFields.length);
  }

  /**
   * Stores one sample; a sample at a time already present replaces it (a replayed report). Returns
   * the change in {@link #bytes()}.
   */
  long put(long time, double[] nums, String[] texts) {
    int found = Arrays.binarySearch(times, start, end, time);
    if (found >= 0) {
      set(found, time, nums, texts);
      return 0;
    }
    long before = bytes();
    if (end == times.length) makeRoom();
    int pos = -Arrays.binarySearch(times, start, end, time) - 1;
    if (pos < end) {
      // Older than the newest sample: a late replay, rare, inserted in place.
      System.arraycopy(times, pos, times, pos + 1, end - pos);
      for (double[] col : numeric) System.arraycopy(col, pos, col, pos + 1, end - pos);
      for (String[] col : text) System.arraycopy(col, pos, col, pos + 1, end - pos);
    }
    end++;
    set(pos, time, nums, texts);
    return bytes() - before;
  }

  private void set(int i, long time, double[] nums, String[] texts) {
    times[i] = time;
    for (int f = 0; f < numeric.length; f++) numeric[f][i] = nums[f];
    for (int f = 0; f < text.length; f++) {
      String v = texts[f];
      // Unchanged sysctl values share the previous sample's String.
      if (i > start && v != null && v.equals(text[f][i - 1])) v = text[f][i - 1];
      text[f][i] = v;
    }
  }

  /** Ensures one free slot at the end: slides live samples down, or grows the arrays. */
  private void makeRoom() {
    int live = end - start;
    int capacity = times.length;
    int wanted = live < capacity / 2 ? capacity : Math.max(MIN_CAPACITY, capacity * 2);
    resize(wanted);
  }

  private void resize(int capacity) {
    int live = end - start;
    times = Arrays.copyOfRange(times, start, start + capacity);
    for (int f = 0; f < numeric.length; f++) {
      numeric[f] = Arrays.copyOfRange(numeric[f], start, start + capacity);
    }
    for (int f = 0; f < text.length; f++) {
      text[f] = Arrays.copyOfRange(text[f], start, start + capacity);
    }
    start = 0;
    end = live;
  }

  /** Drops samples at or before {@code time}; returns the change in {@link #bytes()}. */
  long evictUpTo(long time) {
    if (end == start || times[start] > time) return 0;
    long before = bytes();
    int found = Arrays.binarySearch(times, start, end, time);
    int newStart = found >= 0 ? found + 1 : -found - 1;
    for (String[] col : text) Arrays.fill(col, start, newStart, null);
    start = newStart;
    int live = end - start;
    if (live == 0) {
      times = new long[0];
      for (int f = 0; f < numeric.length; f++) numeric[f] = new double[0];
      for (int f = 0; f < text.length; f++) text[f] = new String[0];
      start = end = 0;
    } else if (live <= times.length / 4) {
      resize(Math.max(MIN_CAPACITY, live * 2));
    }
    return bytes() - before;
  }
}

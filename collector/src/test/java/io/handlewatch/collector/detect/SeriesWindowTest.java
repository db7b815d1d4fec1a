package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The compact window holds exactly what two floats per bucket held: driven side by side with the
 * float reference through the same samples (small counts, wide bands, fractions, negatives, values
 * past a float's 24 bits, gaps longer than the window, late replays), every read agrees after every
 * sample.
 */
class SeriesWindowTest {
  static final int BUCKETS = 61;

  @Test
  void holdsExactlyWhatFloatsHeldWhateverTheValues() {
    for (long seed = 1; seed <= 24; seed++) {
      Random r = new Random(seed);
      SeriesWindow compact = new SeriesWindow(BUCKETS);
      FloatSeriesWindow floats = new FloatSeriesWindow(BUCKETS);
      long bucket = 59_000_000 + r.nextInt(1000);
      long ms = bucket * 30_000;
      int regime = (int) (seed % 6);
      double level = r.nextInt(5000);
      for (int i = 0; i < 1000; i++) {
        if (r.nextInt(100) == 0) regime = r.nextInt(6);
        double v =
            switch (regime) {
              case 0 -> r.nextInt(6); // a small count that wobbles: 4 bits
              case 1 -> level + r.nextInt(200); // a band: 8 bits
              case 2 -> level += r.nextInt(300); // a leak: 16 bits, then wider
              case 3 -> r.nextInt(1000) / 7.0; // fractions: floats
              case 4 -> -r.nextInt(50) + (r.nextBoolean() ? -0.0 : 0); // negatives and -0
              default -> (1L << 24) + r.nextInt(1 << 20) * (r.nextBoolean() ? 1 : 3L << 20);
            };
        int step = r.nextInt(20);
        if (step == 0 && r.nextInt(10) == 0) {
          bucket += BUCKETS + r.nextInt(10); // a gap longer than the window
        } else if (step == 1) {
          bucket -= r.nextInt(BUCKETS + 5); // a late replay, sometimes older than the window
        } else if (step < 8) {
          bucket += 1;
        }
        ms = Math.max(ms + r.nextInt(20_000) - 5_000, 0);
        compact.add(bucket, ms, v);
        floats.add(bucket, ms, v);
        if (step == 1) bucket = Math.max(bucket, floats.newestBucket());
        assertSame(compact, floats, seed + "/" + i, r);
      }
      SeriesWindow filled = SeriesWindow.filledLike(compact, bucket - 3, BUCKETS, 0);
      FloatSeriesWindow filledRef = FloatSeriesWindow.filledLike(floats, bucket - 3, BUCKETS, 0);
      assertSame(filled, filledRef, seed + "/filled", r);
    }
  }

  @Test
  void aWobblingCountCostsFourBitsPerValueAndALeakNarrowsAgainOnceItHasLeftTheWindow() {
    SeriesWindow w = new SeriesWindow(BUCKETS);
    long b = 1000;
    for (int i = 0; i < 3 * BUCKETS; i++) w.add(b + i / 3, (b + i / 3) * 30_000, 3 + i % 5);
    assertThat(w.bytes()).isEqualTo(BUCKETS);
    for (int i = 0; i < BUCKETS; i++) w.add(b + 61 + i, (b + 61 + i) * 30_000, 3 + 100.0 * i);
    assertThat(w.bytes()).isEqualTo(4 * BUCKETS);
    for (int i = 0; i < 2 * BUCKETS; i++) w.add(b + 122 + i, (b + 122 + i) * 30_000, 7 + i % 3);
    assertThat(w.bytes()).isEqualTo(BUCKETS);
    w.add(b + 250, (b + 250) * 30_000, 0.5);
    assertThat(w.bytes()).isEqualTo(8 * BUCKETS);
  }

  private static void assertSame(SeriesWindow c, FloatSeriesWindow f, String at, Random r) {
    assertThat(c.newestBucket()).as(at).isEqualTo(f.newestBucket());
    assertThat(c.oldestBucket()).as(at).isEqualTo(f.oldestBucket());
    assertThat(c.lastMs()).as(at).isEqualTo(f.lastMs());
    assertThat(Double.doubleToRawLongBits(c.last()))
        .as(at)
        .isEqualTo(Double.doubleToRawLongBits(f.last()));
    double[] t1 = new double[BUCKETS], lo1 = new double[BUCKETS], hi1 = new double[BUCKETS];
    double[] t2 = new double[BUCKETS], lo2 = new double[BUCKETS], hi2 = new double[BUCKETS];
    long first = f.newestBucket() - BUCKETS - 2 + r.nextInt(10);
    int n = c.copy(first, f.newestBucket(), t1, lo1, hi1);
    assertThat(n).as(at).isEqualTo(f.copy(first, f.newestBucket(), t2, lo2, hi2));
    for (int i = 0; i < n; i++) {
      assertThat(t1[i]).as(at).isEqualTo(t2[i]);
      assertThat(Double.doubleToRawLongBits(lo1[i]))
          .as(at)
          .isEqualTo(Double.doubleToRawLongBits(lo2[i]));
      assertThat(Double.doubleToRawLongBits(hi1[i]))
          .as(at)
          .isEqualTo(Double.doubleToRawLongBits(hi2[i]));
    }
    long since = f.newestBucket() - r.nextInt(BUCKETS + 5);
    assertThat(Double.doubleToRawLongBits(c.minSince(since)))
        .as(at)
        .isEqualTo(Double.doubleToRawLongBits(f.minSince(since)));
  }
}

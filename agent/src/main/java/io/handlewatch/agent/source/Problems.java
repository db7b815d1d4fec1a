package io.handlewatch.agent.source;

import java.util.ArrayList;
import java.util.List;

/**
 * What one run of one source had to leave out, and why. The first few reasons are kept word for
 * word; the rest are only counted, so one bad host can't make the sample huge.
 */
public final class Problems {
  /** Reasons kept per source run. */
  public static final int MAX_REASONS = 5;

  private final List<String> reasons = new ArrayList<>();
  private long skipped;
  private long unlisted;

  /** One item (a line, a process, an fd, a sysctl) was skipped because of {@code why}. */
  public void skip(String why) {
    skip(1, why);
  }

  /** {@code count} items were skipped because of {@code why}. */
  public void skip(long count, String why) {
    skipped += count;
    note(why);
  }

  /** Records a reason without skipping anything (e.g. a fallback was used). */
  public void note(String why) {
    if (reasons.size() < MAX_REASONS) {
      reasons.add(why);
    } else {
      unlisted++;
    }
  }

  public long skipped() {
    return skipped;
  }

  /** The kept reasons, and a last line counting those not kept. */
  public List<String> reasons() {
    if (unlisted == 0) {
      return List.copyOf(reasons);
    }
    List<String> all = new ArrayList<>(reasons);
    all.add("... and " + unlisted + " more");
    return all;
  }

  public boolean isEmpty() {
    return skipped == 0 && reasons.isEmpty();
  }
}

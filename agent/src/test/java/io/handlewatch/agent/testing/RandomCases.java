package io.handlewatch.agent.testing;

import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Seeds for randomized property tests: a {@code @ParameterizedTest(name = "seed {0}")} over {@link
 * #seeds(int)} runs one case per seed, each drawing its input from {@code new
 * SplittableRandom(seed)}. Every run tries new seeds; a failure's name carries its seed, and {@code
 * -Dhandlewatch.seed=N} runs exactly that case again.
 *
 * <p>Plain JUnit rather than jqwik: from 1.10 jqwik's authors ask that it not be used by AI coding
 * agents, which write much of this project, and its releases target JUnit Platform 1, not 6. What
 * this gives up is shrinking: a failing case is reported as generated, not minimized.
 */
public final class RandomCases {
  public static final String SEED_PROPERTY = "handlewatch.seed";

  private RandomCases() {}

  public static Stream<Long> seeds(int cases) {
    String fixed = System.getProperty(SEED_PROPERTY);
    if (fixed != null && !fixed.isBlank()) return Stream.of(Long.parseLong(fixed.strip()));
    SplittableRandom base = new SplittableRandom(ThreadLocalRandom.current().nextLong());
    return LongStream.generate(base::nextLong).limit(cases).boxed();
  }

  /** A string of {@code length} characters drawn from {@code alphabet}. */
  public static String string(SplittableRandom r, String alphabet, int length) {
    StringBuilder b = new StringBuilder(length);
    for (int i = 0; i < length; i++) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    return b.toString();
  }
}

package io.handlewatch.agent.source.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongIntHashMapTest {
  @Test
  void behavesLikeAHashMapUnderRandomPutsAndRemoves() {
    LongIntHashMap map = new LongIntHashMap(4);
    Map<Long, Integer> model = new HashMap<>();
    Random r = new Random(42);
    for (int i = 0; i < 200_000; i++) {
      // A small key space forces collisions, long probe runs and deletions inside them.
      long key = 1 + r.nextInt(5_000);
      int value = r.nextInt(100);
      if (r.nextInt(3) == 0) {
        Integer cur = model.get(key);
        map.remove(key, cur == null ? -1 : cur);
        model.remove(key);
      } else {
        map.put(key, value);
        model.put(key, value);
      }
    }
    assertThat(map.size()).isEqualTo(model.size());
    for (long k = 1; k <= 5_000; k++) {
      Integer expected = model.get(k);
      assertThat(map.get(k))
          .as("key %d", k)
          .isEqualTo(expected == null ? LongIntHashMap.MISSING : expected);
    }
  }

  @Test
  void removeKeepsAnEntryThatNowBelongsToSomeoneElse() {
    LongIntHashMap map = new LongIntHashMap(16);
    map.put(12345, 7);
    map.remove(12345, 8);
    assertThat(map.get(12345)).isEqualTo(7);
    map.remove(12345, 7);
    assertThat(map.get(12345)).isEqualTo(LongIntHashMap.MISSING);
  }

  @Test
  void ensureCapacityKeepsEntriesAndAvoidsLaterGrowth() {
    LongIntHashMap map = new LongIntHashMap(16);
    for (long k = 1; k <= 100; k++) {
      map.put(k, (int) k);
    }
    map.ensureCapacity(100_000);
    for (long k = 1; k <= 100; k++) {
      assertThat(map.get(k)).isEqualTo((int) k);
    }
    for (long k = 101; k <= 100_000; k++) {
      map.put(k * 7919, (int) k);
    }
    assertThat(map.size()).isEqualTo(100_000);
    assertThat(map.get(500 * 7919L)).isEqualTo(500);
  }
}

package io.handlewatch.agent.source.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SocketInodeIndexTest {
  /** Inodes near both ends of the unsigned 32-bit range, and a few beyond it. */
  private static long inode(Random r) {
    int k = 1 + r.nextInt(3_000);
    return switch (r.nextInt(4)) {
      case 0 -> k;
      case 1 -> 0xFFFF_FFFFL - k; // int keys with the sign bit set
      case 2 -> 0x8000_0000L + k;
      default -> r.nextInt(10) == 0 ? (1L << 40) + k : 1_000_000L + k;
    };
  }

  @Test
  void behavesLikeAHashMapUnderRandomPutsAndRemoves() {
    SocketInodeIndex index = new SocketInodeIndex(4);
    Map<Long, Integer> model = new HashMap<>();
    Random r = new Random(7);
    for (int i = 0; i < 200_000; i++) {
      long key = inode(r);
      int value = r.nextInt(100);
      if (r.nextInt(3) == 0) {
        Integer cur = model.get(key);
        index.remove(key, cur == null ? -1 : cur);
        model.remove(key);
      } else {
        index.put(key, value);
        model.put(key, value);
      }
    }
    assertThat(index.size()).isEqualTo(model.size());
    Random again = new Random(7);
    for (int i = 0; i < 50_000; i++) {
      long k = inode(again);
      Integer expected = model.get(k);
      assertThat(index.get(k))
          .as("inode %d", k)
          .isEqualTo(expected == null ? SocketInodeIndex.MISSING : expected);
    }
  }

  @Test
  void removeKeepsAnEntryThatNowBelongsToSomeoneElse() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    for (long inode : new long[] {12345, 0xFFFF_FFFFL, 1L << 33}) {
      index.put(inode, 7);
      index.remove(inode, 8);
      assertThat(index.get(inode)).isEqualTo(7);
      index.remove(inode, 7);
      assertThat(index.get(inode)).isEqualTo(SocketInodeIndex.MISSING);
    }
    assertThat(index.size()).isZero();
  }

  @Test
  void inodesOfThirtyTwoBitsAndWiderAreKeptApart() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    index.put(0x1_0000_0005L, 1);
    index.put(5, 2);
    assertThat(index.get(5)).isEqualTo(2);
    assertThat(index.get(0x1_0000_0005L)).isEqualTo(1);
    assertThat(SocketInodeIndex.narrow(0xFFFF_FFFFL)).isTrue();
    assertThat(SocketInodeIndex.narrow(0x1_0000_0000L)).isFalse();
    assertThatThrownBy(() -> index.put(0, 1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void ensureCapacityKeepsEntries() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    for (long k = 1; k <= 100; k++) {
      index.put(k, (int) k);
    }
    index.ensureCapacity(200_000);
    for (long k = 101; k <= 200_000; k++) {
      index.put(k * 7919, (int) k);
    }
    for (long k = 1; k <= 100; k++) {
      assertThat(index.get(k)).isEqualTo((int) k);
    }
    assertThat(index.get(200_000L * 7919)).isEqualTo(200_000);
    assertThat(index.size()).isEqualTo(200_000);
  }
}

package io.handlewatch.agent.source.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.ToLongFunction;
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

  /**
   * A first fill the sampler sized too small (its sockstat counts only the agent's own network
   * namespace; a host's sockets can all be in others) grows its arrays by doubling, a dozen copies
   * for 180,000 sockets rather than the ~100 of growing by a sixteenth, and the sort trims the room
   * doubling leaves over.
   */
  @Test
  void anUndersizedFirstFillGrowsByDoublingAndIsTrimmedOnceSorted() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    index.ensureCapacity(100);
    int n = 180_000;
    for (int i = 0; i < n; i++) {
      index.put(3_000_000L + 3L * i, 1000 + i / 9000);
    }
    assertThat(index.firstFillGrowths()).as("copies of the arrays").isBetween(1, 16);
    assertThat(index.get(3_000_000L + 3L * 12_345)).isEqualTo(1000 + 12_345 / 9000);
    assertThat(index.get(3_000_001L)).isEqualTo(SocketInodeIndex.MISSING);
    assertThat(index.size()).isEqualTo(n);
    assertThat(index.capacity()).as("room left once sorted").isLessThanOrEqualTo(n + n / 8);
  }

  @Test
  void sweepsKeepWhatEachProcessHoldsAtItsLastRead() {
    // The process table's use: each round re-reads some processes (their whole socket list is put
    // again), lets others exit, and sweeps the pids of both; the index must then equal the union
    // of every live process's last list.
    SocketInodeIndex index = new SocketInodeIndex(4);
    Map<Integer, java.util.Set<Long>> held = new HashMap<>();
    Random r = new Random(7);
    for (int round = 0; round < 300; round++) {
      java.util.Set<Integer> stale = new java.util.HashSet<>();
      for (int k = 0; k < 20; k++) {
        int pid = 1 + r.nextInt(60);
        if (!stale.add(pid)) {
          continue; // a walk reads each process once
        }
        if (r.nextInt(5) == 0) {
          held.remove(pid); // exited
        } else {
          java.util.Set<Long> now = new java.util.HashSet<>();
          int n = r.nextInt(40);
          for (int j = 0; j < n; j++) {
            long inode = inode(r);
            // An inode belongs to one process at a time in this model: take it from its holder.
            held.values().forEach(s -> s.remove(inode));
            now.add(inode);
          }
          held.put(pid, now);
          now.forEach(inode -> index.put(inode, pid));
        }
      }
      index.sweep(stale::contains);
      Map<Long, Integer> model = new HashMap<>();
      held.forEach((pid, inodes) -> inodes.forEach(i -> model.put(i, pid)));
      // Inodes taken from a process that was not re-read stay with it in the index until its own
      // re-read, as in the agent; in this model the new holder put them last, so they agree.
      assertThat(index.size()).as("round %d", round).isEqualTo(model.size());
      model.forEach(
          (inode, pid) -> assertThat(index.get(inode)).as("inode %d", inode).isEqualTo(pid));
    }
  }

  @Test
  void aSweepRemovesOnlyTheStalePidsEntriesNotPutSince() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    for (long inode : new long[] {12345, 0xFFFF_FFFFL, 1L << 33}) {
      index.put(inode, 7);
    }
    index.put(99, 8);
    index.sweep(pid -> true); // everything was put since the last sweep: all stays
    assertThat(index.size()).isEqualTo(4);
    index.put(12345, 7); // re-read: still held
    index.sweep(pid -> pid == 7);
    assertThat(index.get(12345)).isEqualTo(7);
    assertThat(index.get(0xFFFF_FFFFL)).isEqualTo(SocketInodeIndex.MISSING);
    assertThat(index.get(1L << 33)).isEqualTo(SocketInodeIndex.MISSING);
    assertThat(index.get(99)).isEqualTo(8);
    index.sweep(pid -> pid == 8);
    assertThat(index.get(99)).isEqualTo(SocketInodeIndex.MISSING);
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void aSweepOverLongProbeRunsAndTheTablesWrapKeepsEveryOtherEntry() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    Random r = new Random(11);
    Map<Long, Integer> model = new HashMap<>();
    for (int i = 0; i < 20_000; i++) {
      long inode = 1 + r.nextInt(30_000);
      int pid = 1 + r.nextInt(4);
      index.put(inode, pid);
      model.put(inode, pid);
    }
    index.sweep(pid -> false);
    index.sweep(pid -> pid == 2); // nothing put since the last sweep: every pid 2 entry goes
    model.values().removeIf(pid -> pid == 2);
    assertThat(index.size()).isEqualTo(model.size());
    for (long inode = 1; inode <= 30_000; inode++) {
      Integer pid = model.get(inode);
      assertThat(index.get(inode)).isEqualTo(pid == null ? SocketInodeIndex.MISSING : pid);
    }
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

  @Test
  void theSameOwnersWhenTheSocketCountShrinksAndGrowsAgain() {
    // 150,000 sockets, then all but 1,000 closed (the arrays give their room back), then 150,000
    // new ones: every lookup agrees with a plain map at each step, before and after each sweep.
    SocketInodeIndex index = new SocketInodeIndex(1024);
    Map<Long, Integer> model = new HashMap<>();
    Random r = new Random(5);
    long next = 0x7FFF_0000L; // across the sign bit of an int
    for (int i = 0; i < 150_000; i++) {
      long inode = next += 1 + r.nextInt(3);
      int pid = 100 + r.nextInt(50);
      index.put(inode, pid);
      model.put(inode, pid);
    }
    assertThat(index.get(next)).isEqualTo(model.get(next)); // a lookup before the sweep sees puts
    index.sweep(pid -> true);
    assertAgrees(index, model);
    index.sweep(pid -> pid != 100); // nothing re-put: every process but pid 100 closed its sockets
    model.values().removeIf(pid -> pid != 100);
    assertAgrees(index, model);
    for (int i = 0; i < 150_000; i++) {
      long inode = 1 + r.nextInt(2_000_000) * 2L; // older inodes, below the ones still held
      int pid = 200 + r.nextInt(50);
      index.put(inode, pid);
      model.put(inode, pid);
    }
    index.sweep(pid -> false);
    assertAgrees(index, model);
  }

  @Test
  void processesBeyondTheSlotsStillGetTheirSockets() {
    // More processes holding sockets at once than the arrays have owner slots for: the rest go to
    // the side map, and an inode that moves between the two is found once, with its last owner.
    SocketInodeIndex index = new SocketInodeIndex(16);
    Map<Long, Integer> model = new HashMap<>();
    int pids = SocketInodeIndex.MAX_SLOTS + 100;
    for (int pid = 1; pid <= pids; pid++) {
      index.put(pid * 3L, pid);
      model.put(pid * 3L, pid);
    }
    index.put(3L, pids + 1); // pid 1's socket, now held by a process without a slot
    model.put(3L, pids + 1);
    index.put(pids * 3L, 2); // the last process's socket, now held by one with a slot
    model.put(pids * 3L, 2);
    index.sweep(pid -> false);
    assertAgrees(index, model);
    index.sweep(pid -> pid % 2 == 0); // half the processes exit: their slots are free again
    model.values().removeIf(pid -> pid % 2 == 0);
    assertAgrees(index, model);
    for (int pid = 1; pid <= 2_000; pid++) {
      index.put(1_000_000L + pid, pids + 10 + pid);
      model.put(1_000_000L + pid, pids + 10 + pid);
    }
    index.sweep(pid -> false);
    assertAgrees(index, model);
  }

  @Test
  void aFirstFillKeepsTheLastPutOfAnInodePutTwice() {
    // A socket inherited across a fork is held by both processes: the first fill, appended
    // unsorted and sorted once, must keep the owner put last, as the pending table did.
    SocketInodeIndex index = new SocketInodeIndex(16);
    index.ensureCapacity(1_000);
    for (int k = 0; k < 200; k++) {
      index.put(5_000 + k, 1);
      index.put(5_000 + k, 2);
    }
    index.put(42, 7);
    index.put(42, 3);
    index.put(42, 9);
    assertThat(index.get(42)).isEqualTo(9);
    assertThat(index.get(5_100)).isEqualTo(2);
    assertThat(index.size()).isEqualTo(201);
  }

  @Test
  void aFirstFillAgreesWithAMapBeforeAndAfterItIsSortedIn() {
    // A first fill of many inodes, a fifth of them put again by another process, sized by
    // ensureCapacity (too small, so that the unsorted arrays must grow); then the later walks'
    // puts and sweeps, through the pending table.
    SocketInodeIndex index = new SocketInodeIndex(16);
    Map<Long, Integer> model = new HashMap<>();
    Random r = new Random(13);
    index.ensureCapacity(50_000);
    for (int i = 0; i < 80_000; i++) {
      long inode = inode(r) + r.nextInt(40_000) * 4_000L % 0x7000_0000L;
      int pid = 1 + r.nextInt(300);
      index.put(inode, pid);
      model.put(inode, pid);
      if (r.nextInt(5) == 0) {
        index.put(inode, pid + 1);
        model.put(inode, pid + 1);
      }
    }
    assertAgrees(index, model);
    for (int i = 0; i < 5_000; i++) {
      long inode = inode(r);
      index.put(inode, 400);
      model.put(inode, 400);
    }
    index.sweep(pid -> pid % 3 == 0); // all put since the last sweep: all stay
    assertAgrees(index, model);
    index.sweep(pid -> pid % 3 == 0);
    model.values().removeIf(pid -> pid % 3 == 0);
    assertAgrees(index, model);
    index.ensureCapacity(1_000_000); // not empty: the pending table again
    for (int i = 0; i < 5_000; i++) {
      long inode = 1 + r.nextInt(1_000_000);
      index.put(inode, 500);
      model.put(inode, 500);
    }
    assertAgrees(index, model);
  }

  @Test
  void theStableSortSortsAndKeepsTheOrderOfEqualKeys() {
    Random r = new Random(17);
    for (int n : new int[] {0, 1, 2, 19, 20, 21, 39, 40, 41, 100, 1_000, 60_000}) {
      char[] hi = new char[n];
      char[] lo = new char[n];
      char[] owners = new char[n];
      long[] expected = new long[n];
      for (int i = 0; i < n; i++) {
        // Many repeats, high halves on both sides of 0x8000 (the int sign bit) and low halves on
        // both sides of 0x8000, so that a signed or a low-first comparison would misorder them.
        long inode = (r.nextInt(4) * 0x4000L + r.nextInt(2)) << 16 | r.nextInt(Math.max(1, n / 3));
        inode ^= r.nextBoolean() ? 0x8000 : 0;
        hi[i] = (char) (inode >>> 16);
        lo[i] = (char) inode;
        owners[i] = (char) i; // the put order
        expected[i] = inode;
      }
      Arrays.sort(expected);
      SocketInodeIndex.stableSort(hi, lo, owners, n);
      long[] sorted = new long[n];
      for (int i = 0; i < n; i++) {
        sorted[i] = (long) hi[i] << 16 | lo[i];
      }
      assertThat(sorted).as("n=%d", n).isEqualTo(expected);
      for (int i = 1; i < n; i++) {
        if (sorted[i] == sorted[i - 1]) {
          assertThat((int) owners[i]).as("n=%d at %d", n, i).isGreaterThan(owners[i - 1]);
        }
      }
    }
  }

  @Test
  void aHostsConsecutiveInodesAcrossManyHighHalves() {
    // As a host numbers them: one counter, a few dozen 65,536-inode high halves; now and then a
    // burst of other inodes (pipes, anon inodes share the counter) leaves a high half without
    // sockets between two with.
    long[] counter = {0x0123_4000L};
    agreesWithAMap(21, r -> counter[0] += r.nextInt(1_000) == 0 ? 0x2_0000 : 1 + r.nextInt(60));
  }

  @Test
  void aCounterThatWrapsPastTheTopOfThirtyTwoBits() {
    // High halves 0xFFFx and 0x000x at once: the far-apart halves the arithmetic cannot span.
    long[] counter = {0xFFFE_8000L};
    agreesWithAMap(
        22,
        r -> {
          counter[0] += 1 + r.nextInt(8);
          if (counter[0] > 0xFFFF_FFFFL) {
            counter[0] -= 0xFFFF_FFFFL; // 0 is skipped, as the kernel's counter skips it
          }
          return counter[0];
        });
  }

  @Test
  void inodesSpreadOverTheWholeThirtyTwoBits() {
    agreesWithAMap(23, r -> r.nextLong(1, 1L << 32));
  }

  @Test
  void inodesEitherSideOfSixteenBitBoundaries() {
    // 0xFFFF and 0x10000, 0x7FFFFFFF and 0x80000000, 0xFFFFFFFF, and elsewhere: the same low
    // halves under neighbouring high halves.
    int[] halves = {0, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF};
    agreesWithAMap(
        24,
        r -> {
          long half = r.nextInt(3) == 0 ? r.nextInt(0x10000) : halves[r.nextInt(halves.length)];
          long inode = (half << 16) + r.nextInt(-40, 40);
          return inode < 1 || inode > 0xFFFF_FFFFL ? 0xFFFF_FFFFL - r.nextInt(40) : inode;
        });
  }

  @Test
  void inodesBeyondThirtyTwoBitsBesideTheirNarrowTwins() {
    // An inode wider than 32 bits whose low 32 bits are another socket's inode, and the side
    // map's ones near 2^32; with a host's counter around them.
    long[] counter = {0x0FFF_F000L};
    agreesWithAMap(
        25,
        r ->
            switch (r.nextInt(6)) {
              case 0 -> (1L << 32) | (counter[0] - r.nextInt(10_000));
              case 1 -> 0xFFFF_FFFFL + r.nextInt(-20, 20);
              default -> counter[0] += 1 + r.nextInt(30);
            });
  }

  @Test
  void aHostsCounterWithRareInodesFarFromIt() {
    // Mostly one counter's inodes, a few anywhere: the far ones come and go between sweeps, so
    // that the index goes from near high halves to scattered ones and back.
    long[] counter = {0x4000_0000L};
    agreesWithAMap(
        26,
        r -> r.nextInt(2_000) == 0 ? r.nextLong(1, 1L << 32) : (counter[0] += 1 + r.nextInt(20)));
  }

  @Test
  void lookupsTellApartInodesThatShareTheirLowHalf() {
    SocketInodeIndex index = new SocketInodeIndex(16);
    index.put(0x0001_0005L, 1);
    index.put(0xFFFF_0005L, 2);
    index.put(0x1_0001_0005L, 3);
    assertThat(index.get(0x0001_0005L)).isEqualTo(1);
    assertThat(index.get(0xFFFF_0005L)).isEqualTo(2);
    assertThat(index.get(0x1_0001_0005L)).isEqualTo(3);
    for (long other : new long[] {5, 0x0002_0005L, 0x0000_FFFFL, 0x0001_0004L, 0xFFFE_0005L}) {
      assertThat(index.get(other)).as("inode %x", other).isEqualTo(SocketInodeIndex.MISSING);
    }
    index.put(0x0002_0005L, 4); // a high half of its own between the other two, through a settle
    assertThat(index.get(0x0002_0005L)).isEqualTo(4);
    assertThat(index.get(0x0001_0005L)).isEqualTo(1);
    assertThat(index.get(0xFFFF_0005L)).isEqualTo(2);
    assertThat(index.size()).isEqualTo(4);
  }

  @Test
  void fromScatteredHighHalvesToFewerTheBoundsOfEachStayApartFromTheDirectory() {
    // 1,500 inodes each in a high half of its own, spread over the whole range, and 8,192 of one
    // high half: a stretch per high half, so the groups' bounds serve as the directory. A sweep
    // takes 1,100 of the scattered ones: the directory rebuilt then, of two stretches a high
    // half, fits the array of the bounds, and must not be written into it.
    SocketInodeIndex index = new SocketInodeIndex(16);
    Map<Long, Integer> model = new HashMap<>();
    for (int k = 0; k < 1_500; k++) {
      long inode = (k * 43L + 1) << 16 | k;
      int pid = k < 1_100 ? 1 : 3;
      index.put(inode, pid);
      model.put(inode, pid);
    }
    for (int k = 0; k < 8_192; k++) {
      index.put(0x1234_0001L + k, 2);
      model.put(0x1234_0001L + k, 2);
    }
    index.sweep(pid -> false);
    assertAgrees(index, model);
    index.sweep(pid -> pid == 1);
    model.values().removeIf(pid -> pid == 1);
    assertAgrees(index, model);
    for (int k = 0; k < 100; k++) {
      index.put(0x2000_0000L + k, 4); // a settle reads the groups' bounds
      model.put(0x2000_0000L + k, 4);
    }
    assertAgrees(index, model);
  }

  /**
   * The process table's life against a plain map, with inodes drawn from {@code next}: a first fill
   * (some inodes put twice), walks that re-read some processes, let others exit and add new
   * sockets, then most sockets closed (the arrays shrink), then as many new ones again (a refill
   * through the pending table). After each step every inode in the map is found with its pid, and
   * absent inodes beside present ones (the next and previous inode, the same low half under the
   * neighbouring high halves, the same low 32 bits beyond them) are not.
   */
  private static void agreesWithAMap(long seed, ToLongFunction<Random> next) {
    Random r = new Random(seed);
    SocketInodeIndex index = new SocketInodeIndex(1024);
    Map<Long, Integer> model = new HashMap<>();
    Set<Long> fresh = new java.util.HashSet<>();
    int n = 40_000;
    index.ensureCapacity(n * 3 / 4); // too small: the unsorted arrays grow too
    for (int i = 0; i < n; i++) {
      long inode = next.applyAsLong(r);
      int pid = 1 + r.nextInt(300);
      putBoth(index, model, fresh, inode, pid);
      if (r.nextInt(8) == 0) {
        putBoth(index, model, fresh, inode, 1 + r.nextInt(300));
      }
    }
    assertAgreesAround(index, model, "first fill");
    for (int walk = 0; walk < 6; walk++) {
      Set<Integer> stale = new java.util.HashSet<>();
      for (int k = 0; k < 30; k++) {
        stale.add(1 + r.nextInt(300));
      }
      for (Map.Entry<Long, Integer> e : new ArrayList<>(model.entrySet())) {
        if (stale.contains(e.getValue()) && r.nextInt(3) > 0) {
          putBoth(index, model, fresh, e.getKey(), e.getValue()); // still held when re-read
        }
      }
      for (int i = 0; i < 2_000; i++) {
        putBoth(index, model, fresh, next.applyAsLong(r), 1 + r.nextInt(300));
      }
      sweepBoth(index, model, fresh, stale::contains);
      assertAgreesAround(index, model, "walk " + walk);
    }
    sweepBoth(index, model, fresh, pid -> pid % 10 != 0); // most processes exit
    assertAgreesAround(index, model, "shrunk");
    for (int i = 0; i < n; i++) {
      putBoth(index, model, fresh, next.applyAsLong(r), 301 + r.nextInt(300));
    }
    assertAgreesAround(index, model, "refilled");
    sweepBoth(index, model, fresh, pid -> pid % 2 == 0);
    assertAgreesAround(index, model, "refilled and swept");
  }

  private static void putBoth(
      SocketInodeIndex index, Map<Long, Integer> model, Set<Long> fresh, long inode, int pid) {
    index.put(inode, pid);
    model.put(inode, pid);
    fresh.add(inode);
  }

  private static void sweepBoth(
      SocketInodeIndex index,
      Map<Long, Integer> model,
      Set<Long> fresh,
      java.util.function.IntPredicate stale) {
    index.sweep(stale);
    model.entrySet().removeIf(e -> !fresh.contains(e.getKey()) && stale.test(e.getValue()));
    fresh.clear();
  }

  private static void assertAgreesAround(
      SocketInodeIndex index, Map<Long, Integer> model, String when) {
    assertThat(index.size()).as(when).isEqualTo(model.size());
    model.forEach(
        (inode, pid) -> {
          assertThat(index.get(inode)).as("%s: inode %x", when, inode).isEqualTo(pid);
          for (long near :
              new long[] {
                inode - 1,
                inode + 1,
                inode - 0x1_0000L,
                inode + 0x1_0000L,
                inode ^ 0x8000_0000L,
                inode ^ (1L << 32),
              }) {
            if (near > 0 && !model.containsKey(near)) {
              assertThat(index.get(near))
                  .as("%s: absent inode %x beside %x", when, near, inode)
                  .isEqualTo(SocketInodeIndex.MISSING);
            }
          }
        });
  }

  private static void assertAgrees(SocketInodeIndex index, Map<Long, Integer> model) {
    assertThat(index.size()).isEqualTo(model.size());
    model.forEach(
        (inode, pid) -> assertThat(index.get(inode)).as("inode %d", inode).isEqualTo(pid));
    for (long absent : new long[] {2, 0x7FFF_0000L, 0xFFFF_FFFFL, 999_999L}) {
      if (!model.containsKey(absent)) {
        assertThat(index.get(absent)).isEqualTo(SocketInodeIndex.MISSING);
      }
    }
  }
}

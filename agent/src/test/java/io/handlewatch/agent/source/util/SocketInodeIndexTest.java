package io.handlewatch.agent.source.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
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
      int[] keys = new int[n];
      char[] owners = new char[n];
      for (int i = 0; i < n; i++) {
        keys[i] = r.nextInt(Math.max(1, n / 3)) - n / 6; // many repeats, both signs
        owners[i] = (char) i; // the put order
      }
      int[] expected = keys.clone();
      Arrays.sort(expected);
      SocketInodeIndex.stableSort(keys, owners, n);
      assertThat(keys).as("n=%d", n).isEqualTo(expected);
      for (int i = 1; i < n; i++) {
        if (keys[i] == keys[i - 1]) {
          assertThat((int) owners[i]).as("n=%d at %d", n, i).isGreaterThan(owners[i - 1]);
        }
      }
    }
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

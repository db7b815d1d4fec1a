package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.NetNamespaces.NetNamespace;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.TcpHashTableSource;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.NamespaceTcpTables;
import io.handlewatch.proto.v1.TcpReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Counting which TCP hash table each namespace uses, with each namespace's /proc/sys standing in as
 * a fixture directory (src/test/resources/tcp-ehash) instead of a thread inside it.
 */
class TcpTablesTest {
  static final Path FIXTURES = Path.of("src/test/resources/tcp-ehash");

  // inode -> the fixture its "inside" reads; reads counted per inode.
  final Map<Long, String> fixtureOf = new HashMap<>();
  final Map<Long, Integer> reads = new HashMap<>();

  TcpTables tables(String own) {
    return new TcpTables(
        new TcpHashTableSource(new ProcFs(FIXTURES.resolve(own))),
        ns -> {
          reads.merge(ns.inode(), 1, Integer::sum);
          String dir = fixtureOf.get(ns.inode());
          if (dir == null) throw new IOException("setns: no such namespace");
          return new TcpHashTableSource(new ProcFs(FIXTURES.resolve(dir))).read(new Problems());
        });
  }

  static NetNamespace ns(long inode, boolean host) {
    return new NetNamespace(inode, host, null, Path.of("/proc/1/ns/net"), 1, 1);
  }

  /** The census's entries for {@code namespaces}: the host's first, then the others in order. */
  static List<NamespaceSockets.Builder> counted(List<NetNamespace> namespaces, TcpReader reader) {
    List<NamespaceSockets.Builder> out = new ArrayList<>();
    out.add(NamespaceSockets.newBuilder().setHost(true).setReader(TcpReader.TCP_READER_NETLINK));
    for (NetNamespace n : namespaces) {
      if (!n.host()) out.add(NamespaceSockets.newBuilder().setInode(n.inode()).setReader(reader));
    }
    return out;
  }

  @Test
  void sharedAndOwnTablesAreCountedAndEachNamespaceMarked() {
    fixtureOf.put(11L, "shared");
    fixtureOf.put(12L, "shared");
    fixtureOf.put(13L, "own");
    List<NetNamespace> found = List.of(ns(1, true), ns(11, false), ns(12, false), ns(13, false));
    List<NamespaceSockets.Builder> counted = counted(found, TcpReader.TCP_READER_NETLINK);
    Problems problems = new Problems();
    NamespaceTcpTables t = tables("host").update(found, counted, problems);

    assertThat(t.getShared()).isEqualTo(2);
    assertThat(t.getOwn()).isEqualTo(1);
    assertThat(t.getUnknown()).isZero();
    assertThat(t.getHostBuckets()).isEqualTo(262_144);
    assertThat(t.getChildEhashEntries()).isZero();
    assertThat(counted)
        .extracting(NamespaceSockets.Builder::getTcpEhashEntries)
        .containsExactly(262_144L, -262_144L, -262_144L, 16_384L);
    assertThat(problems.isEmpty()).as(problems.reasons().toString()).isTrue();
  }

  @Test
  void eachNamespaceIsReadOnceInItsLifeAndAgainOnlyWhenGoneAndBack() {
    fixtureOf.put(11L, "shared");
    fixtureOf.put(13L, "own");
    TcpTables tables = tables("host");
    List<NetNamespace> both = List.of(ns(1, true), ns(11, false), ns(13, false));
    for (int i = 0; i < 3; i++) {
      NamespaceTcpTables t =
          tables.update(both, counted(both, TcpReader.TCP_READER_NETLINK), new Problems());
      assertThat(t.getShared()).isEqualTo(1);
      assertThat(t.getOwn()).isEqualTo(1);
      // Later samples mark the namespace from what was kept.
    }
    assertThat(reads).containsEntry(11L, 1).containsEntry(13L, 1);

    // 13 is gone for a sample: forgotten, so a namespace that comes back with its inode is read.
    List<NetNamespace> one = List.of(ns(1, true), ns(11, false));
    tables.update(one, counted(one, TcpReader.TCP_READER_NETLINK), new Problems());
    fixtureOf.put(13L, "shared");
    NamespaceTcpTables t =
        tables.update(both, counted(both, TcpReader.TCP_READER_NETLINK), new Problems());
    assertThat(reads).containsEntry(11L, 1).containsEntry(13L, 2);
    assertThat(t.getShared()).isEqualTo(2);
    assertThat(t.getOwn()).isZero();
  }

  @Test
  void namespacesNotEnteredAreUnknownAndNotEntered() {
    fixtureOf.put(11L, "shared");
    List<NetNamespace> found = List.of(ns(1, true), ns(11, false), ns(12, false));
    List<NamespaceSockets.Builder> counted = counted(found, TcpReader.TCP_READER_PROC);
    // One counted through netlink, one through /proc/PID/net (the agent may not enter it).
    counted.get(1).setReader(TcpReader.TCP_READER_NETLINK);
    Problems problems = new Problems();
    NamespaceTcpTables t = tables("host").update(found, counted, problems);
    assertThat(t.getShared()).isEqualTo(1);
    assertThat(t.getUnknown()).isEqualTo(1);
    assertThat(reads).containsOnlyKeys(11L);
    assertThat(counted.get(2).hasTcpEhashEntries()).isFalse();
    // Said by the tcp source already (the fallback), not again here.
    assertThat(problems.isEmpty()).as(problems.reasons().toString()).isTrue();

    // Without the means to enter at all, every other namespace is unknown.
    NamespaceTcpTables none =
        new TcpTables(new TcpHashTableSource(new ProcFs(FIXTURES.resolve("host"))), null)
            .update(found, counted(found, TcpReader.TCP_READER_NETLINK), new Problems());
    assertThat(none.getUnknown()).isEqualTo(2);
    assertThat(none.getHostBuckets()).as("the agent's own table").isEqualTo(262_144);
  }

  @Test
  void malformedAndUnreadableValuesAreCountedAndSaidEverySample() {
    fixtureOf.put(11L, "malformed");
    fixtureOf.put(13L, "own");
    // 12 has no fixture: entering it fails.
    List<NetNamespace> found = List.of(ns(1, true), ns(11, false), ns(12, false), ns(13, false));
    TcpTables tables = tables("host");
    for (int i = 0; i < 2; i++) {
      Problems problems = new Problems();
      NamespaceTcpTables t =
          tables.update(found, counted(found, TcpReader.TCP_READER_NETLINK), problems);
      assertThat(t.getUnknown()).isEqualTo(2);
      assertThat(t.getOwn()).isEqualTo(1);
      assertThat(problems.skipped()).isEqualTo(2);
      assertThat(problems.reasons())
          .singleElement()
          .satisfies(
              r ->
                  assertThat(r)
                      .contains("2 namespace(s) not known")
                      .contains("namespace 11: parse error at")
                      .contains("expected a number, got 'lots'"));
    }
    // The malformed value is kept for the namespace's life; entering may work next time.
    assertThat(reads).containsEntry(11L, 1).containsEntry(12L, 2);
  }

  @Test
  void theAgentsOwnNamespaceUnreadableIsSaidAndTheRestStillCounted() {
    fixtureOf.put(11L, "shared");
    List<NetNamespace> found = List.of(ns(1, true), ns(11, false));
    Problems problems = new Problems();
    NamespaceTcpTables t =
        tables("malformed").update(found, counted(found, TcpReader.TCP_READER_NETLINK), problems);
    assertThat(t.getShared()).isEqualTo(1);
    assertThat(t.getHostBuckets()).as("from the shared namespace").isEqualTo(262_144);
    assertThat(t.hasChildEhashEntries()).isFalse();
    assertThat(problems.skipped()).isEqualTo(2);
    assertThat(String.join("\n", problems.reasons()))
        .contains("the agent's own namespace: parse error at")
        .contains("not a table size: -1");
  }

  @Test
  void onAKernelBefore61EveryNamespaceSharesAndNoneIsEntered() {
    List<NetNamespace> found = List.of(ns(1, true), ns(11, false), ns(12, false));
    Problems problems = new Problems();
    NamespaceTcpTables t =
        tables("old-kernel").update(found, counted(found, TcpReader.TCP_READER_NETLINK), problems);
    assertThat(t.getShared()).isEqualTo(2);
    assertThat(t.hasHostBuckets()).isFalse();
    assertThat(t.hasChildEhashEntries()).isFalse();
    assertThat(reads).isEmpty();
    assertThat(problems.skipped()).isZero();
    assertThat(problems.reasons()).singleElement().asString().contains("before 6.1");
    assertThat(TcpTables.worthAdvice(t)).as("no sysctl would help").isFalse();
  }

  @Test
  void theLogLinesSayTheHostTheNumbersAndTheAdviceOnlyWhenItCostsEnough() {
    NamespaceTcpTables t =
        NamespaceTcpTables.newBuilder()
            .setShared(15)
            .setOwn(3)
            .setUnknown(1)
            .setHostBuckets(262_144)
            .setChildEhashEntries(0)
            .build();
    assertThat(TcpTables.startupLine("node-a", t))
        .isEqualTo(
            "host node-a: 19 network namespaces besides the agent's: 15 share the host's TCP hash"
                + " table (262,144 buckets, which each of their dumps walks), 3 have their own, 1"
                + " unknown; net.ipv4.tcp_child_ehash_entries=0 (namespaces made from now on share"
                + " it too)");
    // 15 x 262,144 is under 2^22 bucket walks; 16 reach it.
    assertThat(TcpTables.worthAdvice(t)).isFalse();
    NamespaceTcpTables more = t.toBuilder().setShared(16).build();
    assertThat(TcpTables.worthAdvice(more)).isTrue();
    assertThat(TcpTables.adviceLine("node-a", more))
        .startsWith(
            "host node-a: 16 network namespaces share the host's TCP hash table of 262,144"
                + " buckets, so every sample walks 4,194,304 buckets for them; set"
                + " net.ipv4.tcp_child_ehash_entries=16384 on the node");
    // Already set: those namespaces are older than the setting.
    assertThat(TcpTables.adviceLine("node-a", more.toBuilder().setChildEhashEntries(16384).build()))
        .contains("is 16384 already, so these namespaces predate it");
    // A small host table costs little however many share it.
    assertThat(TcpTables.worthAdvice(more.toBuilder().setHostBuckets(4096).build())).isFalse();
  }
}

package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Namespace discovery over a /proc tree whose {@code ns/net} entries are plain symlinks with the
 * kernel's targets ("net:[4026531840]"), as a copied /proc holds them.
 */
class NetNamespacesTest {
  @TempDir Path proc;

  void link(String pid, String target) throws Exception {
    Files.createDirectories(proc.resolve(pid + "/ns"));
    Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of(target));
  }

  @Test
  void sharedNamespacesAreListedOnceWithTheLowestPidAndTheAgentsOwnFirst() throws Exception {
    link("self", "net:[4026531840]");
    link("1", "net:[4026531840]");
    link("300", "net:[4026532999]");
    link("250", "net:[4026532999]");
    link("400", "net:[4026533100]");
    Files.createDirectories(proc.resolve("500")); // exited between listing and readlink
    Problems problems = new Problems();
    List<NetNamespaces.NetNamespace> ns = new NetNamespaces(new ProcFs(proc), null).read(problems);
    assertThat(ns)
        .extracting(
            NetNamespaces.NetNamespace::inode,
            NetNamespaces.NetNamespace::host,
            NetNamespaces.NetNamespace::pid,
            NetNamespaces.NetNamespace::processes)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(4026531840L, true, 1, 1),
            org.assertj.core.groups.Tuple.tuple(4026532999L, false, 250, 2),
            org.assertj.core.groups.Tuple.tuple(4026533100L, false, 400, 1));
    assertThat(ns.get(1).path()).isEqualTo(proc.resolve("250/ns/net"));
    assertThat(problems.isEmpty()).as(problems.reasons().toString()).isTrue();
  }

  @Test
  void aBadLinkIsSkippedAndSaidWhereAndTheRestStillCounts() throws Exception {
    link("self", "net:[4026531840]");
    link("7", "mnt:[4026531841]");
    link("8", "net:[oops]");
    link("9", "net:[4026532000]");
    Problems problems = new Problems();
    List<NetNamespaces.NetNamespace> ns = new NetNamespaces(new ProcFs(proc), null).read(problems);
    assertThat(ns).extracting(NetNamespaces.NetNamespace::inode).contains(4026532000L);
    assertThat(problems.skipped()).isEqualTo(2);
    assertThat(problems.reasons())
        .anySatisfy(r -> assertThat(r).contains("7/ns/net").contains("not a network namespace"))
        .anySatisfy(r -> assertThat(r).contains("8/ns/net").contains("bad namespace inode"));
  }

  @Test
  void theAgentsOwnNamespaceIsListedEvenWithoutAProcessInIt() throws Exception {
    link("self", "net:[4026531840]");
    link("12", "net:[4026532000]");
    List<NetNamespaces.NetNamespace> ns =
        new NetNamespaces(new ProcFs(proc), proc.resolve("no-such-dir")).read(new Problems());
    assertThat(ns.getFirst().host()).isTrue();
    assertThat(ns.getFirst().inode()).isEqualTo(4026531840L);
    assertThat(ns.getFirst().pid()).isEqualTo(-1);
    assertThat(ns).hasSize(2);
  }

  @Test
  void namedEntriesThatAreNotNamespaceMountsAreIgnored() throws Exception {
    link("self", "net:[4026531840]");
    Path named = Files.createDirectories(proc.resolve("netns"));
    Files.writeString(named.resolve("deleted-one"), ""); // what `ip netns del` can leave behind
    List<NetNamespaces.NetNamespace> ns =
        new NetNamespaces(new ProcFs(proc), named).read(new Problems());
    assertThat(ns).hasSize(1);
  }

  @Test
  void withoutItsOwnLinkTheSourceFailsRatherThanGuessWhichIsTheHost() {
    assertThatThrownBy(() -> new NetNamespaces(new ProcFs(proc), null).read(new Problems()))
        .isInstanceOf(java.io.IOException.class);
  }
}

package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process walk and its inode index, on a /proc tree the test builds and changes. */
class ProcessTableTest {
  @TempDir Path root;
  ProcessTable table;

  @BeforeEach
  void setUp() throws IOException {
    process(10, "api", 1000, "socket:[501]", "socket:[502]", "/dev/null");
    process(20, "worker", 2000, "socket:[601]");
    process(30, "cron", 3000, "/dev/null");
    table = new ProcessTable(new ProcFs(root), 30);
  }

  @Test
  void firstWalkReadsEveryTableAndIndexesSockets() throws Exception {
    Problems problems = new Problems();
    ProcessTable.Walk w = table.read(problems);
    assertThat(problems.isEmpty()).as(problems.reasons().toString()).isTrue();
    assertThat(w.seen()).isEqualTo(3);
    assertThat(w.rescanned()).isEqualTo(3);
    assertThat(w.linksRead()).isEqualTo(5);
    assertThat(pidOf(w, 501)).isEqualTo(10);
    assertThat(pidOf(w, 502)).isEqualTo(10);
    assertThat(pidOf(w, 601)).isEqualTo(20);
    assertThat(w.ownerIndex(999)).isEqualTo(-1);
    ProcessTable.ProcessInfo api = w.processes().get(0);
    assertThat(api.comm()).isEqualTo("api");
    assertThat(api.fds()).hasValue(3);
    assertThat(api.softLimit()).hasValue(1024);
    assertThat(api.hardLimit()).hasValue(4096);
  }

  @Test
  void unchangedTablesAreNotReadAgain() throws Exception {
    table.read(new Problems());
    ProcessTable.Walk second = table.read(new Problems());
    assertThat(second.rescanned()).isZero();
    assertThat(second.linksRead()).isZero();
    assertThat(pidOf(second, 601)).isEqualTo(20);
  }

  @Test
  void aTableThatGrewIsReadAgainAndOnlyThatOne() throws Exception {
    table.read(new Problems());
    Files.createSymbolicLink(root.resolve("20/fd/9"), Path.of("socket:[602]"));
    ProcessTable.Walk w = table.read(new Problems());
    assertThat(w.rescanned()).isEqualTo(1);
    assertThat(w.linksRead()).isEqualTo(2);
    assertThat(pidOf(w, 602)).isEqualTo(20);
  }

  @Test
  void everyNthWalkReadsEverything() throws Exception {
    ProcessTable everySecond = new ProcessTable(new ProcFs(root), 2);
    assertThat(everySecond.read(new Problems()).rescanned()).isEqualTo(3);
    assertThat(everySecond.read(new Problems()).rescanned()).isZero();
    assertThat(everySecond.read(new Problems()).rescanned()).isEqualTo(3);
  }

  @Test
  void aReusedPidIsANewProcess() throws Exception {
    table.read(new Problems());
    deleteTree(root.resolve("20"));
    process(20, "other", 2500, "socket:[700]");
    ProcessTable.Walk w = table.read(new Problems());
    assertThat(pidOf(w, 700)).isEqualTo(20);
    assertThat(w.ownerIndex(601)).as("the old process's socket").isEqualTo(-1);
    assertThat(w.processes()).anySatisfy(p -> assertThat(p.comm()).isEqualTo("other"));
  }

  @Test
  void anExitedProcessIsForgottenWithItsSockets() throws Exception {
    table.read(new Problems());
    deleteTree(root.resolve("10"));
    ProcessTable.Walk w = table.read(new Problems());
    assertThat(w.seen()).isEqualTo(2);
    assertThat(w.ownerIndex(501)).isEqualTo(-1);
    assertThat(table.indexedSockets()).isEqualTo(1);
  }

  @Test
  void aProcessThatVanishesMidWalkIsCountedNotAnError() throws Exception {
    Files.createDirectories(root.resolve("40")); // listed, but its files are already gone
    Problems problems = new Problems();
    ProcessTable.Walk w = table.read(problems);
    assertThat(w.vanished()).isEqualTo(1);
    assertThat(w.seen()).isEqualTo(4);
    assertThat(w.processes()).hasSize(3);
    assertThat(problems.isEmpty()).isTrue();
  }

  @Test
  void malformedFilesAreSkippedWithFileAndLine() throws Exception {
    Files.createDirectories(root.resolve("50"));
    Files.writeString(root.resolve("50/stat"), "50 no-parens\n");
    Files.writeString(root.resolve("30/limits"), "Limit Soft Hard Units\n");
    Problems problems = new Problems();
    ProcessTable.Walk w = table.read(problems);
    assertThat(w.processes()).extracting(ProcessTable.ProcessInfo::pid).containsExactly(10, 20, 30);
    assertThat(problems.skipped()).isEqualTo(2);
    assertThat(problems.reasons())
        .anySatisfy(r -> assertThat(r).contains("50/stat:1: no '(comm)' field"))
        .anySatisfy(r -> assertThat(r).contains("30/limits: no 'Max open files' row"));
    ProcessTable.ProcessInfo cron = w.processes().get(2);
    assertThat(cron.softLimit()).isEmpty();
    assertThat(cron.fds()).hasValue(1);
  }

  @Test
  void aSameSizeSwapIsFoundByRescanningSocketHolders() throws Exception {
    table.read(new Problems());
    Files.delete(root.resolve("10/fd/4"));
    Files.createSymbolicLink(root.resolve("10/fd/4"), Path.of("socket:[503]"));
    ProcessTable.Walk w = table.read(new Problems());
    assertThat(w.ownerIndex(503)).as("same fd count: not re-read yet").isEqualTo(-1);
    assertThat(table.rescanSocketHolders(w, new Problems())).isEqualTo(2);
    assertThat(pidOf(w, 503)).isEqualTo(10);
    assertThat(w.ownerIndex(502)).isEqualTo(-1);
  }

  @Test
  void socketInodeReadsOnlySocketLinks() {
    assertThat(FdTableReader.socketInode("socket:[12345]")).isEqualTo(12345);
    assertThat(FdTableReader.socketInode("pipe:[12345]")).isZero();
    assertThat(FdTableReader.socketInode("socket:[]")).isZero();
    assertThat(FdTableReader.socketInode("socket:[12x]")).isZero();
    assertThat(FdTableReader.socketInode("/tmp/socket:[1]")).isZero();
  }

  private static int pidOf(ProcessTable.Walk w, long inode) {
    int i = w.ownerIndex(inode);
    assertThat(i).as("owner of inode %d", inode).isNotNegative();
    return w.processes().get(i).pid();
  }

  private void process(int pid, String comm, long start, String... fdTargets) throws IOException {
    Path dir = Files.createDirectories(root.resolve(Integer.toString(pid)));
    Files.writeString(
        dir.resolve("stat"),
        pid + " (" + comm + ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 " + start + " 0 0\n");
    Files.writeString(
        dir.resolve("limits"),
        "Limit                     Soft Limit           Hard Limit           Units     \n"
            + "Max open files            1024                 4096                 files     \n");
    Files.writeString(dir.resolve("cmdline"), comm + "\0--flag\0");
    Path fd = Files.createDirectories(dir.resolve("fd"));
    for (int i = 0; i < fdTargets.length; i++) {
      Files.createSymbolicLink(fd.resolve(Integer.toString(i + 3)), Path.of(fdTargets[i]));
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}

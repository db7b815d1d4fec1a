package io.handlewatch.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.runtime.StartupPages.Mapping;
import io.handlewatch.agent.runtime.StartupPages.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartupPagesTest {
  @TempDir Path dir;

  /** /proc/PID/smaps of a JVM (JDK 25, default CDS archive), cut to these mappings. */
  static Path fixture() throws URISyntaxException {
    return Path.of(StartupPagesTest.class.getResource("/smaps/jvm.smaps").toURI());
  }

  @Test
  void choosesTheReadOnlyFileMappingsWithoutPrivateCopies() throws Exception {
    List<String> chosen = new ArrayList<>();
    for (Mapping m : StartupPages.read(fixture())) {
      if (m.cleanFilePages()) chosen.add(m.perms() + " " + m.path() + " " + m.rssKb());
    }
    String jdk = "/usr/lib/jvm/temurin-25-jdk-amd64/lib/";
    String libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    assertThat(chosen)
        .containsExactly(
            "r--s " + jdk + "modules 10880",
            "r--s /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache 28",
            "r--p " + jdk + "server/libjvm.so 2956",
            "r-xp " + jdk + "server/libjvm.so 13616",
            "r--p " + jdk + "server/libjvm.so 1028",
            // not libjvm.so's r--p with 940 kB Anonymous: its relocated (RELRO) copies
            "r--p " + libc + " 152",
            "r-xp " + libc + " 1304",
            "r--p " + libc + " 204");
    // Left alone: the CDS archive (rw-p, relocated), hsperfdata (rw-s), [heap], [vdso], [vvar],
    // anonymous memory and reservations (---p).
  }

  @Test
  void advisesEachChosenMappingAndMeasuresWhatLeft() throws Exception {
    Path smaps = Files.copy(fixture(), dir.resolve("smaps"));
    List<Long> advised = new ArrayList<>();
    Result r =
        StartupPages.release(
            smaps,
            (address, length) -> {
              advised.add(address);
              // What the kernel does: the mapping's resident pages go, but for one.
              residentAfterPageOut(smaps, address, 4);
              return 0;
            });
    assertThat(r.mappings()).isEqualTo(8);
    assertThat(advised).hasSize(8).contains(0x7f37e80e3000L); // libjvm.so's text
    assertThat(r.failed()).isZero();
    assertThat(r.residentBefore())
        .isEqualTo((10880L + 28 + 2956 + 13616 + 1028 + 152 + 1304 + 204) * 1024);
    assertThat(r.residentAfter()).isEqualTo(8 * 4 * 1024L);
    assertThat(r.released()).isEqualTo(r.residentBefore() - r.residentAfter());
  }

  @Test
  void aRefusedPageOutIsCountedWithItsErrnoAndReleasesNothing() throws Exception {
    Result r = StartupPages.release(fixture(), (address, length) -> 22); // EINVAL: before 5.4
    assertThat(r.mappings()).isEqualTo(8);
    assertThat(r.failed()).isEqualTo(8);
    assertThat(r.error()).startsWith("errno 22 on ").contains("/modules r--s");
    assertThat(r.released()).isZero();
  }

  @Test
  void anSmapsThatIsNotOneIsAnError() throws Exception {
    Path bad = Files.writeString(dir.resolve("smaps"), "7f00-zz r--p 0 0:0 1 /x\nRss: 4 kB\n");
    try {
      StartupPages.read(bad);
      throw new AssertionError("parsed");
    } catch (IOException e) {
      assertThat(e).hasMessageContaining("cannot parse");
    }
  }

  /**
   * The real call on a real mapping: a file this test wrote, synced (clean) and mapped read-only by
   * this JVM alone, read whole so every page is resident; the page-out must leave it (almost) none.
   * Fails without MADV_PAGEOUT (an old kernel: EINVAL) or with a wrong call.
   */
  @Test
  void theKernelDropsTheCleanPagesOfAReadOnlyFileMapping() throws Exception {
    Path file = dir.resolve("pages.bin");
    int size = 8 << 20;
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[size]).put(0, (byte) 1));
      ch.force(true);
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      MappedByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      long sum = 0;
      for (int i = 0; i < size; i += 4096) sum += mapped.get(i);
      assertThat(sum).isEqualTo(1);
      Path self = Path.of("/proc/self/smaps");
      assertThat(residentKb(self, file)).isGreaterThanOrEqualTo(size / 1024 - 64);

      Result r = StartupPages.release(self, StartupPages.Madvise.pageOut());

      assertThat(r.failed()).as(r.error()).isZero();
      assertThat(residentKb(self, file)).isLessThan(64);
      assertThat(r.released()).isGreaterThanOrEqualTo(size - (64 << 10));
      assertThat(mapped.get(0)).as("a page faults back in from the file").isEqualTo((byte) 1);
      // One page, not the disk's read-ahead (MADV_RANDOM): 128 KiB by default, 8 MiB here.
      assertThat(residentKb(self, file)).isLessThanOrEqualTo(16);
    }
  }

  private static long residentKb(Path smaps, Path file) throws IOException {
    return StartupPages.read(smaps).stream()
        .filter(m -> m.path().equals(file.toString()))
        .mapToLong(Mapping::rssKb)
        .sum();
  }

  /** Rewrites the Rss of the mapping at {@code address} in a copied smaps file. */
  private static void residentAfterPageOut(Path smaps, long address, long rssKb) {
    try {
      String header = Long.toHexString(address) + "-";
      StringBuilder out = new StringBuilder();
      boolean in = false;
      for (String line : Files.readAllLines(smaps)) {
        if (Pattern.matches("^[0-9a-f]+-[0-9a-f]+ .*", line)) in = line.startsWith(header);
        if (in && line.startsWith("Rss:")) line = "Rss:" + " ".repeat(18) + rssKb + " kB";
        out.append(line).append('\n');
      }
      Files.writeString(smaps, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

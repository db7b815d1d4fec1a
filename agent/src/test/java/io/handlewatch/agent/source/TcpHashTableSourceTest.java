package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.agent.source.parse.ProcParseException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * net.ipv4.tcp_ehash_entries and tcp_child_ehash_entries as the kernel shows them in the host's
 * namespace, in a namespace sharing the host's table and in one with its own
 * (src/test/resources/tcp-ehash, captured), plus a kernel without them and hand-broken values.
 */
class TcpHashTableSourceTest {
  static final Path FIXTURES = Path.of("src/test/resources/tcp-ehash");

  static TcpHashTableSource at(String dir) {
    return new TcpHashTableSource(new ProcFs(FIXTURES.resolve(dir)));
  }

  @Test
  void theHostsTableIsPositiveASharedOneNegativeAndAnOwnOneItsOwnSize() throws Exception {
    assertThat(at("host").read(new Problems()))
        .isEqualTo(new TcpHashTableSource.Table(262_144, false));
    assertThat(at("shared").read(new Problems()))
        .isEqualTo(new TcpHashTableSource.Table(262_144, true));
    assertThat(at("own").read(new Problems()))
        .isEqualTo(new TcpHashTableSource.Table(16_384, false));
    assertThat(at("host").childEntries()).isZero();
  }

  @Test
  void aKernelBefore61HasNeitherFile() {
    assertThatThrownBy(() -> at("old-kernel").read(new Problems()))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> at("old-kernel").childEntries())
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void malformedValuesAreRefusedNamingTheFile() {
    assertThatThrownBy(() -> at("malformed").read(new Problems()))
        .isInstanceOf(ProcParseException.class)
        .hasMessageContaining("tcp_ehash_entries")
        .hasMessageContaining("expected a number, got 'lots'");
    assertThatThrownBy(() -> at("malformed").childEntries())
        .isInstanceOf(ProcParseException.class)
        .hasMessageContaining("tcp_child_ehash_entries")
        .hasMessageContaining("not a table size: -1");
  }

  @Test
  void onlyAPowerOfTwoOtherThanZeroIsATableSize() throws Exception {
    assertThat(TcpHashTableSource.parseTable("f", "-4096\n").buckets()).isEqualTo(4096);
    for (String bad : new String[] {"0", "5000", "-3", "4294967296", "-9223372036854775808", ""}) {
      assertThatThrownBy(() -> TcpHashTableSource.parseTable("f", bad))
          .as(bad)
          .isInstanceOf(ProcParseException.class);
    }
  }
}

package io.handlewatch.agent.source.natives;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.agent.source.FdTableReader;
import io.handlewatch.agent.source.NioFdTableReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The libc fd reader sees exactly what java.nio sees, on this JVM's own live fd table. */
class FdTableReaderIT {
  @Test
  void libcAndNioReadersFindTheSameSockets() throws Exception {
    List<AutoCloseable> open = new ArrayList<>();
    try {
      ServerSocketChannel server =
          ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
      open.add(server);
      for (int i = 0; i < 20; i++) {
        open.add(SocketChannel.open(server.getLocalAddress()));
        open.add(server.accept());
      }
      Path fd = Path.of("/proc/" + ProcessHandle.current().pid() + "/fd");
      Set<Long> nio = new TreeSet<>();
      Set<Long> libc = new TreeSet<>();
      FdTableReader.Counts n = new NioFdTableReader().read(fd, nio::add);
      FdTableReader.Counts l;
      try (LibcFdTableReader reader = new LibcFdTableReader()) {
        l = reader.read(fd, libc::add);
      }
      assertThat(libc).hasSizeGreaterThanOrEqualTo(41).isEqualTo(nio);
      assertThat(l.linksRead()).isGreaterThanOrEqualTo(libc.size());
      assertThat(Math.abs(l.linksRead() - n.linksRead()))
          .as("fds opened between the two reads")
          .isLessThan(5);
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
    }
  }

  @Test
  void aGoneProcessIsNoSuchFile() {
    try (LibcFdTableReader reader = new LibcFdTableReader()) {
      assertThatThrownBy(() -> reader.read(Path.of("/proc/999999999/fd"), x -> {}))
          .isInstanceOf(NoSuchFileException.class)
          .hasMessageContaining("/proc/999999999/fd");
    }
  }

  @ParameterizedTest
  @CsvSource({
    "socket:[12345], 12345",
    "socket:[1], 1",
    "pipe:[12345], 0",
    "socket:[], 0",
    "socket:[12a], 0",
    "/dev/null, 0",
    "socket:[4294967296], 4294967296"
  })
  void parsesLinkTargetsWithoutAllocating(String target, long inode) {
    try (Arena a = Arena.ofConfined()) {
      byte[] b = target.getBytes(StandardCharsets.US_ASCII);
      MemorySegment s = a.allocate(64);
      MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
      assertThat(LibcFdTableReader.socketInode(s, b.length)).isEqualTo(inode);
      assertThat(FdTableReader.socketInode(target)).isEqualTo(inode);
    }
  }
}

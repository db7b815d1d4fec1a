package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.testing.RandomCases;
import io.handlewatch.proto.v1.Sockstat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of the /proc parsers, over random input from seeded cases (see {@link RandomCases}):
 *
 * <ul>
 *   <li>arbitrary text, and real fixture files mutated at random (bytes flipped, stretches cut,
 *       inserted or repeated, numbers made huge or negative), end in a result or in a {@link
 *       ProcParseException} that names the file, never in any other exception and never in a loop;
 *   <li>well-formed content, printed the way the kernel prints it from generated values, parses
 *       back to exactly those values.
 * </ul>
 */
class ProcParserPropertyTest {
  private static final Path FIXTURES = Path.of("src/test/resources/proc");

  /** A parser under test, fed one whole file (or one line, for /proc/net/tcp). */
  interface Parser {
    void parse(String content) throws ProcParseException;
  }

  record Target(String name, String file, List<String> samples, Parser parser) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static String read(String relative) {
    try {
      return Files.readString(FIXTURES.resolve(relative));
    } catch (IOException e) {
      throw new AssertionError("fixture " + relative, e);
    }
  }

  private static List<String> tcpLines(String relative) {
    List<String> lines = new ArrayList<>(Arrays.asList(read(relative).split("\n")));
    lines.removeFirst(); // the header
    return lines.subList(0, Math.min(lines.size(), 40));
  }

  static List<Target> targets() {
    return List.of(
        new Target(
            "sockstat",
            "/proc/net/sockstat",
            List.of(read("busy-host/proc/net/sockstat"), read("busy-host/proc/net/sockstat6")),
            c -> SockstatParser.parse("/proc/net/sockstat", c, Sockstat.newBuilder())),
        new Target(
            "file-nr",
            "/proc/sys/fs/file-nr",
            List.of(read("busy-host/proc/sys/fs/file-nr")),
            c -> {
              var f = FileNrParser.parse("/proc/sys/fs/file-nr", c);
              assertThat(f.allocated()).isNotNegative();
              assertThat(f.max()).isNotNegative();
            }),
        new Target(
            "limits",
            "/proc/7664/limits",
            List.of(read("busy-host/proc/7664/limits")),
            c -> {
              var l = LimitsParser.parseNofile("/proc/7664/limits", c);
              assertThat(l.soft()).isNotNegative();
              assertThat(l.hard()).isNotNegative();
            }),
        new Target(
            "stat",
            "/proc/7664/stat",
            List.of(read("busy-host/proc/7664/stat")),
            c ->
                assertThat(ProcStatParser.parse("/proc/7664/stat", c).startTicks())
                    .isNotNegative()),
        new Target(
            "tcp",
            "/proc/net/tcp",
            tcpLines("busy-host/proc/net/tcp"),
            c -> {
              SocketEntry e = new SocketEntry();
              ProcNetTcpParser.parse("/proc/net/tcp", 2, c, SocketEntry.AF_INET, e);
              assertThat(TcpState.isKnown(e.state())).isTrue();
              assertThat(e.localPort()).isBetween(0, 0xFFFF);
              assertThat(e.inode()).isNotNegative();
            }),
        new Target(
            "tcp6",
            "/proc/net/tcp6",
            tcpLines("edge-cases/proc/net/tcp6"),
            c -> {
              SocketEntry e = new SocketEntry();
              ProcNetTcpParser.parse("/proc/net/tcp6", 2, c, SocketEntry.AF_INET6, e);
              assertThat(TcpState.isKnown(e.state())).isTrue();
              assertThat(e.remotePort()).isBetween(0, 0xFFFF);
            }));
  }

  static Stream<Arguments> targetsAndSeeds() {
    return targets().stream().flatMap(t -> RandomCases.seeds(12).map(s -> Arguments.of(t, s)));
  }

  static Stream<Long> seeds() {
    return RandomCases.seeds(20);
  }

  private static final String[] TOKENS = {
    "TCP:",
    "TCP6:",
    "UDP:",
    "sockets:",
    "used",
    "inuse",
    "orphan",
    "tw",
    "alloc",
    "mem",
    "Max open files",
    "unlimited",
    "Limit",
    "files",
    "(",
    ")",
    ":",
    "0A",
    "01",
    "00000000",
    "0100007F:1F90",
    "18446744073709551615",
    "9223372036854775807",
    "9223372036854775808",
    "-1",
    "0",
    "\n",
    "\t",
    " ",
    "  ",
    "\r\n",
    "\u0000",
    "\u00e9",
    "\uD83D\uDE00",
    "x"
  };

  private static String arbitrary(SplittableRandom r) {
    StringBuilder b = new StringBuilder();
    int parts = r.nextInt(40);
    for (int i = 0; i < parts; i++) {
      if (r.nextBoolean()) {
        b.append(TOKENS[r.nextInt(TOKENS.length)]);
      } else {
        b.append(RandomCases.string(r, "0123456789abcdefABCDEF :()\t\n-+x.", 1 + r.nextInt(12)));
      }
    }
    return b.toString();
  }

  private static String mutate(SplittableRandom r, String s) {
    StringBuilder b = new StringBuilder(s);
    int mutations = 1 + r.nextInt(4);
    for (int m = 0; m < mutations; m++) {
      int at = b.isEmpty() ? 0 : r.nextInt(b.length());
      int len = b.isEmpty() ? 0 : 1 + r.nextInt(Math.min(20, b.length() - at));
      switch (r.nextInt(8)) {
        case 0 -> b.delete(at, at + len);
        case 1 -> b.insert(at, TOKENS[r.nextInt(TOKENS.length)]);
        case 2 -> {
          if (!b.isEmpty()) b.setCharAt(at, (char) r.nextInt(0x80));
        }
        case 3 -> b.insert(at, b.substring(at, at + len)); // repeat a stretch
        case 4 -> b.setLength(at); // truncated
        case 5 -> b.insert(at, "99999999999999999999999");
        case 6 -> b.insert(at, '-');
        default -> b.replace(at, at + len, " ");
      }
    }
    return b.toString();
  }

  @ParameterizedTest(name = "{0}, seed {1}")
  @MethodSource("targetsAndSeeds")
  void arbitraryAndMutatedInputEndsInAResultOrANamedParseError(Target t, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    // A generous deadline only to catch a parser that never returns, not a speed target.
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          for (int i = 0; i < 300; i++) {
            String input =
                i % 2 == 0
                    ? arbitrary(r)
                    : mutate(r, t.samples().get(r.nextInt(t.samples().size())));
            try {
              t.parser().parse(input);
            } catch (ProcParseException e) {
              assertThat(e.getMessage()).startsWith(t.file());
              assertThat(e.problem()).isNotBlank();
            } catch (RuntimeException | AssertionError e) {
              fail("%s threw %s on %s", t.name(), e, escape(input), e);
            }
          }
        });
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') b.append(c);
      else b.append(String.format("\\u%04x", (int) c));
    }
    return b.append('"').toString();
  }

  /** A non-negative long, often small, sometimes at the edges. */
  private static long count(SplittableRandom r) {
    return switch (r.nextInt(6)) {
      case 0 -> 0;
      case 1 -> Long.MAX_VALUE;
      case 2 -> r.nextLong(Long.MAX_VALUE);
      default -> r.nextLong(100_000);
    };
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void sockstatRoundTrips(long seed) throws ProcParseException {
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < 50; i++) {
      long[] v = new long[10];
      for (int k = 0; k < v.length; k++) v[k] = count(r);
      String sockstat =
          "sockets: used %d\nTCP: inuse %d orphan %d tw %d alloc %d mem %d\nUDP: inuse %d mem %d\n"
                  .formatted(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
              + "UDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n";
      String sockstat6 =
          "TCP6: inuse %d\nUDP6: inuse %d\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n"
              .formatted(v[8], v[9]);
      Sockstat.Builder b = Sockstat.newBuilder();
      SockstatParser.parse("/proc/net/sockstat", sockstat, b);
      SockstatParser.parse("/proc/net/sockstat6", sockstat6, b);
      Sockstat s = b.build();
      assertThat(
              new long[] {
                s.getSocketsUsed(), s.getTcpInuse(), s.getTcpOrphan(), s.getTcpTw(),
                s.getTcpAlloc(), s.getTcpMemPages(), s.getUdpInuse(), s.getUdpMemPages(),
                s.getTcp6Inuse(), s.getUdp6Inuse()
              })
          .as(sockstat + sockstat6)
          .containsExactly(v);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void fileNrRoundTrips(long seed) throws ProcParseException {
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < 100; i++) {
      long allocated = count(r);
      long max = count(r);
      // The kernel prints "%lu\t%lu\t%lu\n"; the middle is always 0 since 2.6.
      String content = allocated + "\t0\t" + max + "\n";
      assertThat(FileNrParser.parse("/proc/sys/fs/file-nr", content))
          .isEqualTo(new FileNrParser.FileNr(allocated, max));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void limitsRoundTrip(long seed) throws ProcParseException {
    SplittableRandom r = new SplittableRandom(seed);
    String[] rows = {
      "Max cpu time",
      "Max file size",
      "Max data size",
      "Max stack size",
      "Max core file size",
      "Max resident set",
      "Max processes",
      "Max open files",
      "Max locked memory"
    };
    for (int i = 0; i < 100; i++) {
      long soft = r.nextInt(5) == 0 ? LimitsParser.UNLIMITED : count(r);
      long hard = r.nextInt(5) == 0 ? LimitsParser.UNLIMITED : count(r);
      // fs/proc/base.c proc_pid_limits: "%-25s %-20s %-20s %-10s\n", "unlimited" for RLIM_INFINITY.
      StringBuilder b = new StringBuilder();
      b.append(
          String.format("%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units"));
      for (String row : rows) {
        boolean nofile = row.equals("Max open files");
        b.append(
            String.format(
                "%-25s %-20s %-20s %-10s\n",
                row,
                nofile ? limit(soft) : limit(count(r)),
                nofile ? limit(hard) : "unlimited",
                nofile ? "files" : "bytes"));
      }
      assertThat(LimitsParser.parseNofile("/proc/1/limits", b.toString()))
          .as(b.toString())
          .isEqualTo(new LimitsParser.NofileLimit(soft, hard));
    }
  }

  private static String limit(long v) {
    return v == LimitsParser.UNLIMITED ? "unlimited" : Long.toString(v);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void statRoundTripsWhateverTheCommHolds(long seed) throws ProcParseException {
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < 100; i++) {
      // comm is whatever the process set (prctl PR_SET_NAME): spaces, parentheses, newlines.
      String comm = RandomCases.string(r, "abcXYZ019 ()):-_/.\n\t\u00e9", r.nextInt(16));
      long start = count(r);
      StringBuilder b = new StringBuilder();
      b.append(r.nextInt(4_194_304) + 1).append(" (").append(comm).append(") S");
      for (int field = 4; field <= 52; field++) {
        b.append(' ').append(field == 22 ? start : r.nextLong(1L << 40));
      }
      b.append('\n');
      assertThat(ProcStatParser.parse("/proc/1/stat", b.toString()))
          .as(escape(b.toString()))
          .isEqualTo(new ProcStatParser.ProcStat(comm, start));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void tcpLinesRoundTripBothFamilies(long seed) throws ProcParseException {
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < 100; i++) {
      boolean v6 = r.nextBoolean();
      int len = v6 ? 16 : 4;
      byte[] local = new byte[len];
      byte[] remote = new byte[len];
      for (int k = 0; k < len; k++) {
        local[k] = (byte) r.nextInt(256);
        remote[k] = (byte) r.nextInt(256);
      }
      int lport = r.nextInt(0x10000);
      int rport = r.nextInt(0x10000);
      int state = 1 + r.nextInt(TcpState.MAX);
      long inode = r.nextInt(3) == 0 ? 0 : r.nextLong(1L << 32);
      // net/ipv4/tcp_ipv4.c get_tcp4_sock: "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX
      // %08X %5u %8d %lu %d %pK %lu %lu %u %u %d"; each address word is a __be32 printed as a
      // native integer.
      String line =
          String.format(
              "%4d: %s:%04X %s:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d %d %d %d %d",
              i,
              hexWords(local),
              lport,
              hexWords(remote),
              rport,
              state,
              r.nextInt(1 << 20),
              r.nextInt(1 << 20),
              r.nextInt(5),
              r.nextInt(),
              r.nextInt(10),
              r.nextInt(65536),
              r.nextInt(100),
              inode,
              1,
              r.nextLong(),
              100,
              0,
              0,
              10,
              -1);
      SocketEntry e = new SocketEntry();
      ProcNetTcpParser.parse(
          v6 ? "/proc/net/tcp6" : "/proc/net/tcp",
          i + 2,
          line,
          v6 ? SocketEntry.AF_INET6 : SocketEntry.AF_INET,
          e);
      assertThat(e.family()).isEqualTo(v6 ? SocketEntry.AF_INET6 : SocketEntry.AF_INET);
      byte[] gotLocal = new byte[len];
      byte[] gotRemote = new byte[len];
      for (int k = 0; k < len; k++) {
        gotLocal[k] = e.localAddressByte(k);
        gotRemote[k] = e.remoteAddressByte(k);
      }
      assertThat(gotLocal).as(line).isEqualTo(local);
      assertThat(gotRemote).as(line).isEqualTo(remote);
      assertThat(e.localPort()).as(line).isEqualTo(lport);
      assertThat(e.remotePort()).as(line).isEqualTo(rport);
      assertThat(e.state()).as(line).isEqualTo(state);
      assertThat(e.inode()).as(line).isEqualTo(inode);
    }
  }

  private static String hexWords(byte[] address) {
    ByteBuffer b = ByteBuffer.wrap(address).order(ByteOrder.nativeOrder());
    StringBuilder s = new StringBuilder();
    for (int w = 0; w < address.length / 4; w++) {
      s.append(String.format(Locale.ROOT, "%08X", b.getInt(w * 4)));
    }
    return s.toString();
  }
}

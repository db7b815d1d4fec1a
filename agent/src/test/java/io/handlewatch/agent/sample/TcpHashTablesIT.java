package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.agent.testing.NetnsFixture;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.NamespaceTcpTables;
import io.handlewatch.proto.v1.SourceRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Real namespaces made before and after net.ipv4.tcp_child_ehash_entries is set in the host's
 * namespace (restored at once): the agent must tell which share the host's TCP hash table and which
 * have their own, as {@code ip netns exec NS cat /proc/sys/net/ipv4/tcp_ehash_entries} says, count
 * them in its health, read each once, and log the start-up line and the advice (enough namespaces
 * are made to cost 2^22 bucket walks a sample) once each.
 */
class TcpHashTablesIT {
  static final String CHILD = "/proc/sys/net/ipv4/tcp_child_ehash_entries";
  static final int OWN_TABLE = 4096;

  @Test
  void namespacesMadeBeforeTheSysctlShareTheHostsTableAndThoseAfterHaveTheirOwn() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "needs root: ip netns add, setns and the host's sysctl");
    long hostBuckets = Math.abs(Long.parseLong(read("/proc/sys/net/ipv4/tcp_ehash_entries")));
    // Enough shared namespaces of ours to cost the advice's bucket walks on this host (16 at
    // 262,144 buckets), at most 64; fewer on a host whose table is too small to ever advise.
    long needed = (TcpTables.ADVISE_AT_BUCKET_WALKS + hostBuckets - 1) / hostBuckets;
    int sharedCount = (int) Math.max(2, Math.min(64, needed));
    boolean advises = sharedCount >= needed;

    List<LogRecord> logged = new ArrayList<>();
    Logger jul = Logger.getLogger(Sampler.class.getName());
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            synchronized (logged) {
              logged.add(r);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(capture);
    String original = read(CHILD);
    try (NetnsFixture fixture = new NetnsFixture("hw7c-")) {
      List<String> shared = new ArrayList<>();
      List<String> own = new ArrayList<>();
      try {
        write(CHILD, "0");
        for (int i = 0; i < sharedCount; i++) shared.add(fixture.add("shared" + i));
        // Set only while our own namespaces are made: every namespace made meanwhile, by anyone,
        // gets a table of its own.
        write(CHILD, Integer.toString(OWN_TABLE));
        own.add(fixture.add("own0"));
        own.add(fixture.add("own1"));
      } finally {
        write(CHILD, original);
      }
      assertThat(read(CHILD)).as("restored").isEqualTo(original);
      // What the kernel's own tool says inside each, the truth the agent must match.
      for (String ns : shared) assertThat(ehashInside(ns)).isEqualTo(-hostBuckets);
      for (String ns : own) assertThat(ehashInside(ns)).isEqualTo(OWN_TABLE);

      Sampler sampler =
          new Sampler(
              ProcFs.host(),
              List.of(new NetlinkSocketTable()),
              new SampleOptions(10, 10, false, List.of(), 30, "node-hw7c", null, CommandLines.FULL),
              Clock.systemUTC());
      sampler.logTcpTables();
      HostSample first = sampler.sample();
      Map<String, NamespaceSockets> byName = NetworkNamespacesIT.byName(first);
      for (String ns : shared) {
        assertThat(byName.get(ns).getTcpEhashEntries()).as(ns).isEqualTo(-hostBuckets);
      }
      for (String ns : own) {
        assertThat(byName.get(ns).getTcpEhashEntries()).as(ns).isEqualTo(OWN_TABLE);
      }
      NamespaceTcpTables t = first.getHealth().getNetnsTcpTables();
      consistent(first, t, hostBuckets, original);
      assertThat(t.getShared()).isGreaterThanOrEqualTo(sharedCount);
      assertThat(t.getOwn()).isGreaterThanOrEqualTo(2);
      // (Another engineer's namespace deleted mid-sample may be said there; none of ours.)
      assertThat(String.join("\n", source(first, "tcp_tables").getErrorsList()))
          .doesNotContain("hw7c-");
      assertThat(SampleText.render(first))
          .contains(
              String.format(
                  java.util.Locale.ROOT,
                  "TCP hash tables: %,d share the host's (%,d buckets",
                  t.getShared(),
                  hostBuckets));

      // A namespace made after the first sample is read in the next; the others are not re-read
      // (nothing re-enters them: their kept netlink sockets are all the dumps need).
      String later = fixture.add("later");
      HostSample second = sampler.sample();
      NamespaceTcpTables t2 = second.getHealth().getNetnsTcpTables();
      consistent(second, t2, hostBuckets, original);
      assertThat(NetworkNamespacesIT.byName(second).get(later).getTcpEhashEntries())
          .isEqualTo(Long.parseLong(original) == 0 ? -hostBuckets : ehashInside(later));
      for (String ns : own) {
        assertThat(NetworkNamespacesIT.byName(second).get(ns).getTcpEhashEntries())
            .as("kept from the first sample")
            .isEqualTo(OWN_TABLE);
      }
      sampler.sample();

      List<LogRecord> lines;
      synchronized (logged) {
        lines = List.copyOf(logged);
      }
      assertThat(onlyLine(lines, Level.INFO))
          .as("one start-up line, after the first sample")
          .startsWith("host node-hw7c: ")
          .contains(
              String.format(
                  java.util.Locale.ROOT,
                  "%,d share the host's TCP hash table (%,d buckets",
                  t.getShared(),
                  hostBuckets))
          .contains(String.format("%,d have their own", t.getOwn()))
          .contains("net.ipv4.tcp_child_ehash_entries=" + original);
      if (advises) {
        assertThat(onlyLine(lines, Level.WARNING))
            .as("the advice, once in three samples")
            .startsWith("host node-hw7c: ")
            .contains("share the host's TCP hash table of")
            .contains("net.ipv4.tcp_child_ehash_entries=");
      }
    } finally {
      jul.removeHandler(capture);
    }
  }

  /**
   * The counts agree with the namespaces listed (whoever else made namespaces on this host
   * meanwhile), and the host's figures with what the test reads itself.
   */
  static void consistent(HostSample s, NamespaceTcpTables t, long hostBuckets, String child) {
    long shared = 0;
    long own = 0;
    long unknown = 0;
    for (NamespaceSockets n : s.getTcp().getNamespacesList()) {
      if (n.getHost()) {
        assertThat(n.getTcpEhashEntries()).as("the agent's own").isEqualTo(hostBuckets);
      } else if (!n.hasTcpEhashEntries()) {
        unknown++;
      } else if (n.getTcpEhashEntries() < 0) {
        shared++;
      } else {
        own++;
      }
    }
    assertThat(t.getShared()).isEqualTo(shared);
    assertThat(t.getOwn()).isEqualTo(own);
    assertThat(t.getUnknown()).isEqualTo(unknown);
    assertThat(t.getHostBuckets()).isEqualTo(hostBuckets);
    assertThat(t.getChildEhashEntries()).isEqualTo(Long.parseLong(child));
  }

  /** The one line logged at {@code level}; fails when there are none or several. */
  static String onlyLine(List<LogRecord> lines, Level level) {
    List<String> at =
        lines.stream().filter(r -> r.getLevel() == level).map(LogRecord::getMessage).toList();
    assertThat(at).as("lines at " + level).hasSize(1);
    return at.getFirst();
  }

  static SourceRun source(HostSample s, String name) {
    return s.getHealth().getSourcesList().stream()
        .filter(r -> r.getSource().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no source " + name));
  }

  static long ehashInside(String ns) throws Exception {
    Process p =
        new ProcessBuilder("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/tcp_ehash_entries")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return Long.parseLong(out);
  }

  /** In one read: a sysctl read in pieces (as Files.readString does) ends after its first byte. */
  static String read(String file) throws Exception {
    return ProcFs.readCapped(Path.of(file), 4096).strip();
  }

  static void write(String file, String value) throws Exception {
    Files.writeString(Path.of(file), value);
  }
}

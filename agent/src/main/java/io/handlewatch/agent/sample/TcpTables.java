package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.NetNamespaces;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.SourceErrors;
import io.handlewatch.agent.source.TcpHashTableSource;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.NamespaceTcpTables;
import io.handlewatch.proto.v1.TcpReader;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which TCP hash table each dumped namespace uses: its own, or the host's, which its dump then
 * walks whole (see {@link TcpHashTableSource}). A namespace's table is fixed for its life, so it is
 * read once, from inside it, and kept by inode until the namespace is gone; the agent's kept
 * netlink socket holds the namespace alive meanwhile, so its inode cannot pass to another.
 */
final class TcpTables {
  /**
   * Bucket walks per sample for shared tables beyond which the agent advises per-namespace tables
   * once: 2^22 is 16 namespaces sharing a table of 262,144 buckets, about 70 ms of CPU per sample
   * on the 2-core machine of BENCHMARKS.md (4.5 ms per namespace), a sixth of the 400 ms a dense
   * node's sample may cost.
   */
  static final long ADVISE_AT_BUCKET_WALKS = 1L << 22;

  /** The value docs/operations.md recommends and the DaemonSet's init container offers. */
  static final long ADVISED_CHILD_EHASH = 16_384;

  /** Reads a namespace's table from inside it. */
  interface Inside {
    TcpHashTableSource.Table read(NetNamespaces.NetNamespace ns)
        throws IOException, ProcParseException;
  }

  private final TcpHashTableSource own;
  private final Inside inside;
  // inode -> its Table, or why its value is malformed (said again every sample, not re-read).
  private final Map<Long, Object> known = new HashMap<>();
  private TcpHashTableSource.Table ownTable;
  private String ownProblem;
  private boolean ownRead;

  /**
   * @param own the agent's own namespace's table, read on the sampling thread
   * @param inside reads another namespace's from inside it; null when the agent cannot enter
   */
  TcpTables(TcpHashTableSource own, Inside inside) {
    this.own = own;
    this.inside = inside;
  }

  /**
   * Counts the tables of {@code namespaces} (as found this sample) and marks each counted one in
   * {@code counted} (the census's entries, the agent's own first, then the others in the order of
   * {@code namespaces}).
   */
  NamespaceTcpTables update(
      List<NetNamespaces.NetNamespace> namespaces,
      List<NamespaceSockets.Builder> counted,
      Problems problems) {
    NamespaceTcpTables.Builder out = NamespaceTcpTables.newBuilder();
    readOwn(problems);
    boolean oldKernel = ownProblem != null && ownProblem.startsWith("kernel");
    if (oldKernel) {
      problems.note(ownProblem);
    }
    Set<Long> live = new HashSet<>();
    long sharedBuckets = 0;
    int next = 1;
    long unknownSaid = 0;
    String firstUnknown = null;
    for (NetNamespaces.NetNamespace ns : namespaces) {
      live.add(ns.inode());
      if (ns.host()) {
        if (ownTable != null && !counted.isEmpty()) {
          counted.getFirst().setTcpEhashEntries(signed(ownTable));
        }
        continue;
      }
      NamespaceSockets.Builder b = next < counted.size() ? counted.get(next) : null;
      next++;
      if (oldKernel) {
        out.setShared(out.getShared() + 1);
        continue;
      }
      Object t = known.get(ns.inode());
      if (t == null) {
        t = readInside(ns, b);
        if (t instanceof TcpHashTableSource.Table || t instanceof Failure f && f.lasting()) {
          known.put(ns.inode(), t);
        }
      }
      if (t instanceof TcpHashTableSource.Table table) {
        if (b != null && b.getInode() == ns.inode()) b.setTcpEhashEntries(signed(table));
        if (table.shared()) {
          out.setShared(out.getShared() + 1);
          sharedBuckets = table.buckets();
        } else {
          out.setOwn(out.getOwn() + 1);
        }
      } else {
        out.setUnknown(out.getUnknown() + 1);
        if (t instanceof Failure f) {
          unknownSaid++;
          if (firstUnknown == null) firstUnknown = f.why();
        }
      }
    }
    known.keySet().retainAll(live);
    if (unknownSaid > 0) {
      problems.skip(
          unknownSaid,
          "TCP hash table of "
              + unknownSaid
              + " namespace(s) not known, e.g. "
              + firstUnknown
              + " (counted as unknown)");
    }
    long hostBuckets =
        sharedBuckets > 0 ? sharedBuckets : ownTable == null ? 0 : ownTable.buckets();
    if (hostBuckets > 0) out.setHostBuckets(hostBuckets);
    try {
      out.setChildEhashEntries(own.childEntries());
    } catch (NoSuchFileException e) {
      // Before 6.1: said above, with what it means.
    } catch (IOException | ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
    }
    return out.build();
  }

  /**
   * Why a namespace's table is not known. A malformed value lasts as long as the namespace, so it
   * is kept and said every sample without a re-read; a failure to enter (the member left between
   * discovery and entry) may pass, so the next sample tries again.
   */
  private record Failure(String why, boolean lasting) {}

  private Object readInside(NetNamespaces.NetNamespace ns, NamespaceSockets.Builder b) {
    // Only a namespace the agent entered this sample (its dump went through netlink) is entered
    // again: without CAP_SYS_ADMIN no thread can stand inside it, and that is said by the tcp
    // source already.
    if (inside == null || b == null || b.getReader() != TcpReader.TCP_READER_NETLINK) {
      return null;
    }
    String where = ns.name() != null ? "namespace " + ns.name() : "namespace " + ns.inode();
    try {
      return inside.read(ns);
    } catch (ProcParseException e) {
      return new Failure(where + ": " + SourceErrors.describe(e), true);
    } catch (IOException | RuntimeException e) {
      return new Failure(where + ": " + SourceErrors.describe(e), false);
    }
  }

  private void readOwn(Problems problems) {
    if (!ownRead) {
      ownRead = true;
      try {
        ownTable = own.read(problems);
      } catch (NoSuchFileException e) {
        ownProblem =
            "kernel without net.ipv4.tcp_ehash_entries (before 6.1): every namespace shares the"
                + " host's TCP hash table, and no sysctl changes that";
      } catch (IOException | ProcParseException e) {
        ownProblem = "the agent's own namespace: " + SourceErrors.describe(e);
      }
    }
    if (ownProblem != null && !ownProblem.startsWith("kernel")) {
      problems.skip(ownProblem);
    }
  }

  private static long signed(TcpHashTableSource.Table t) {
    return t.shared() ? -t.buckets() : t.buckets();
  }

  /** Whether the shared tables cost enough per sample to advise tables of their own. */
  static boolean worthAdvice(NamespaceTcpTables t) {
    return t.getShared() > 0
        && t.hasHostBuckets()
        && t.getShared() * t.getHostBuckets() >= ADVISE_AT_BUCKET_WALKS;
  }

  /** The start-up line: what the namespaces found in the first sample share. */
  static String startupLine(String host, NamespaceTcpTables t) {
    long others = (long) t.getShared() + t.getOwn() + t.getUnknown();
    return String.format(
        Locale.ROOT,
        "host %s: %,d network namespaces besides the agent's: %,d share the host's TCP hash table"
            + " (%s buckets, which each of their dumps walks), %,d have their own, %,d unknown;"
            + " net.ipv4.tcp_child_ehash_entries=%s (%s)",
        host,
        others,
        t.getShared(),
        t.hasHostBuckets() ? String.format(Locale.ROOT, "%,d", t.getHostBuckets()) : "?",
        t.getOwn(),
        t.getUnknown(),
        t.hasChildEhashEntries() ? Long.toString(t.getChildEhashEntries()) : "?",
        !t.hasChildEhashEntries()
            ? "unknown"
            : t.getChildEhashEntries() == 0
                ? "namespaces made from now on share it too"
                : "namespaces made from now on get a table of their own");
  }

  /** The advice, logged once when {@link #worthAdvice} first holds. */
  static String adviceLine(String host, NamespaceTcpTables t) {
    String fix =
        t.hasChildEhashEntries() && t.getChildEhashEntries() > 0
            ? "net.ipv4.tcp_child_ehash_entries is "
                + t.getChildEhashEntries()
                + " already, so these namespaces predate it: they keep the shared table until"
                + " their pods or containers are made again"
            : "set net.ipv4.tcp_child_ehash_entries="
                + ADVISED_CHILD_EHASH
                + " on the node (the DaemonSet's init container, TCP_CHILD_EHASH_ENTRIES,"
                + " or sysctl.d: docs/operations.md)"
                + " so that namespaces made afterwards get a table of their own";
    return String.format(
        Locale.ROOT,
        "host %s: %,d network namespaces share the host's TCP hash table of %,d buckets, so every"
            + " sample walks %,d buckets for them; %s",
        host,
        t.getShared(),
        t.getHostBuckets(),
        t.getShared() * t.getHostBuckets(),
        fix);
  }
}

package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcParseException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the host's distinct network namespaces: the inode behind {@code /proc/PID/ns/net} of every
 * process, plus the named namespaces bind-mounted under {@code /run/netns} ({@code ip netns add}),
 * which may hold sockets while no process lives in them. A namespace shared by many processes is
 * listed once, with its lowest pid as the member to reach it through.
 *
 * <p>The agent's own namespace ({@code /proc/self/ns/net}) is marked as the host's: with {@code
 * hostNetwork} or on a plain host that is what it is.
 */
public final class NetNamespaces implements ProcSource<List<NetNamespaces.NetNamespace>> {
  /**
   * One namespace.
   *
   * @param path what to open for setns: {@code /proc/PID/ns/net} or {@code /run/netns/NAME}
   * @param pid the lowest pid living in it, or -1 when only its name was found
   * @param name its /run/netns name, or null
   */
  public record NetNamespace(
      long inode, boolean host, String name, Path path, int pid, int processes) {}

  private final ProcFs fs;
  private final Path namedDir;

  /**
   * @param namedDir where {@code ip netns} keeps named namespaces, normally {@code /run/netns};
   *     null for none
   */
  public NetNamespaces(ProcFs fs, Path namedDir) {
    this.fs = fs;
    this.namedDir = namedDir;
  }

  @Override
  public List<NetNamespace> read(Problems problems) throws IOException {
    long hostInode;
    try {
      hostInode = inodeOfLink(fs.path("self/ns/net"));
    } catch (ProcParseException e) {
      throw new IOException(e.getMessage(), e);
    }
    Map<Long, int[]> byInode = new LinkedHashMap<>(); // inode -> {lowest pid, processes}
    long denied = 0;
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(fs.root())) {
      for (Path p : dir) {
        String pidName = p.getFileName().toString();
        if (pidName.isEmpty() || pidName.length() > 10 || !isDigits(pidName)) {
          continue;
        }
        long pidLong = Long.parseLong(pidName);
        if (pidLong <= 0 || pidLong > Integer.MAX_VALUE) {
          continue;
        }
        int pid = (int) pidLong;
        long inode;
        try {
          inode = inodeOfLink(p.resolve("ns/net"));
        } catch (NoSuchFileException e) {
          continue; // exited, or a kernel without ns links
        } catch (AccessDeniedException e) {
          denied++;
          continue;
        } catch (ProcParseException e) {
          problems.skip(SourceErrors.describe(e));
          continue;
        }
        int[] v = byInode.computeIfAbsent(inode, k -> new int[] {pid, 0});
        v[0] = Math.min(v[0], pid);
        v[1]++;
      }
    }
    if (denied > 0) {
      problems.skip(
          denied,
          "permission denied reading /proc/PID/ns/net (needs CAP_SYS_PTRACE for other users'"
              + " processes): their namespaces are found only if another process shares them");
    }
    Map<Long, String> names = named(nsfsDevice(), problems);
    List<NetNamespace> out = new ArrayList<>();
    for (Map.Entry<Long, int[]> e : byInode.entrySet()) {
      int pid = e.getValue()[0];
      out.add(
          new NetNamespace(
              e.getKey(),
              e.getKey() == hostInode,
              names.get(e.getKey()),
              fs.path(pid + "/ns/net"),
              pid,
              e.getValue()[1]));
    }
    for (Map.Entry<Long, String> e : names.entrySet()) {
      if (!byInode.containsKey(e.getKey())) {
        out.add(
            new NetNamespace(
                e.getKey(),
                e.getKey() == hostInode,
                e.getValue(),
                namedDir.resolve(e.getValue()),
                -1,
                0));
      }
    }
    if (out.stream().noneMatch(NetNamespace::host)) {
      // The agent's own namespace always exists, even when /proc is another pid namespace's.
      out.add(new NetNamespace(hostInode, true, null, fs.path("self/ns/net"), -1, 0));
    }
    out.sort(
        Comparator.comparing((NetNamespace n) -> !n.host()).thenComparingLong(NetNamespace::inode));
    return out;
  }

  /**
   * The device number of nsfs (namespace files), from the agent's own namespace link; null when
   * that is not a live namespace (a copied /proc), in which case no named namespace is trusted.
   */
  private Long nsfsDevice() {
    try {
      return ((Number) Files.getAttribute(fs.path("self/ns/net"), "unix:dev")).longValue();
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  /** Named namespaces by inode; the first name wins when one namespace has two. */
  private Map<Long, String> named(Long nsfsDev, Problems problems) {
    Map<Long, String> names = new LinkedHashMap<>();
    if (namedDir == null || nsfsDev == null || !Files.isDirectory(namedDir)) {
      return names;
    }
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(namedDir)) {
      dir.forEach(entries::add);
    } catch (IOException e) {
      problems.note(SourceErrors.describe(e));
      return names;
    }
    entries.sort(null);
    for (Path p : entries) {
      try {
        // Each entry is a bind mount of the namespace's nsfs file: its inode is the namespace's.
        // A name whose namespace was deleted is an empty file on the tmpfs: skip it. (Compared by
        // device rather than Files.getFileStore, which rereads the mount table for every entry:
        // quadratic with hundreds of namespace mounts.)
        var attrs = Files.readAttributes(p, "unix:dev,ino");
        if (((Number) attrs.get("dev")).longValue() != nsfsDev) {
          continue;
        }
        long inode = ((Number) attrs.get("ino")).longValue();
        names.putIfAbsent(inode, p.getFileName().toString());
      } catch (NoSuchFileException e) {
        // deleted while listing
      } catch (IOException | UnsupportedOperationException e) {
        problems.skip(p + ": " + e);
      }
    }
    return names;
  }

  /**
   * The network namespace of {@code pid}, or 0 when it exited or its link is missing (a fixture
   * tree) or unreadable (counted in {@code problems}).
   */
  public static long inodeOf(ProcFs fs, int pid, Problems problems) {
    try {
      return inodeOfLink(fs.path(pid + "/ns/net"));
    } catch (NoSuchFileException e) {
      return 0;
    } catch (IOException | ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
      return 0;
    }
  }

  /** The inode in a namespace link such as {@code net:[4026531840]}. */
  public static long inodeOfLink(Path link) throws IOException, ProcParseException {
    String target = Files.readSymbolicLink(link).toString();
    return parseLink(link.toString(), target);
  }

  static long parseLink(String where, String target) throws ProcParseException {
    if (!target.startsWith("net:[") || !target.endsWith("]")) {
      throw new ProcParseException(where, 1, "not a network namespace link: " + target);
    }
    try {
      return Long.parseLong(target, 5, target.length() - 1, 10);
    } catch (NumberFormatException e) {
      throw new ProcParseException(where, 1, "bad namespace inode in " + target);
    }
  }

  private static boolean isDigits(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }
}

package io.handlewatch.agent.source;

import io.handlewatch.proto.v1.Sysctl;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads sysctls from {@code /proc/sys}: the ones that decide how TCP states and file handles
 * behave, plus any the operator adds. A sysctl this kernel lacks (tcp_tw_recycle since 4.12) is
 * left out, which is not an error.
 */
public final class SysctlSource implements ProcSource<List<Sysctl>> {
  /**
   * What an SRE checks first when TIME_WAIT, CLOSE_WAIT or EMFILE show up, and the limits of the
   * other kernel tables: accept queues (somaxconn, tcp_max_syn_backlog, tcp_syncookies), orphans,
   * TCP memory and conntrack.
   */
  public static final List<String> DEFAULT_NAMES =
      List.of(
          "net.ipv4.tcp_fin_timeout",
          "net.ipv4.tcp_tw_reuse",
          "net.ipv4.tcp_tw_recycle",
          "net.ipv4.tcp_max_tw_buckets",
          "net.ipv4.ip_local_port_range",
          "net.ipv4.tcp_keepalive_time",
          "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes",
          "net.ipv4.tcp_syn_retries",
          "net.ipv4.tcp_synack_retries",
          "net.ipv4.tcp_orphan_retries",
          "net.ipv4.tcp_max_syn_backlog",
          "net.ipv4.tcp_syncookies",
          "net.core.somaxconn",
          "net.core.netdev_max_backlog",
          "net.ipv4.tcp_max_orphans",
          "net.ipv4.tcp_mem",
          "net.netfilter.nf_conntrack_max",
          "fs.file-max",
          "fs.nr_open");

  private static final Pattern NAME = Pattern.compile("[a-z0-9_-]+(\\.[a-z0-9_-]+)+");
  private static final Pattern SPACES = Pattern.compile("\\s+");

  private final ProcFs fs;
  private final List<String> names;

  /**
   * @param names dotted sysctl names; each must look like one ("net.core.somaxconn"), so that a
   *     typo or a path like "../../etc/shadow" is refused at start-up
   */
  public SysctlSource(ProcFs fs, List<String> names) {
    for (String n : names) {
      if (!NAME.matcher(n).matches()) {
        throw new IllegalArgumentException(
            "not a sysctl name: '"
                + n
                + "' (expected dotted lower-case words, e.g. net.core.somaxconn)");
      }
    }
    this.fs = fs;
    this.names = List.copyOf(new TreeSet<>(names));
  }

  /** The default set plus {@code extra}. */
  public static List<String> defaultsPlus(List<String> extra) {
    List<String> all = new ArrayList<>(DEFAULT_NAMES);
    all.addAll(extra);
    return all;
  }

  @Override
  public List<Sysctl> read(Problems problems) {
    List<Sysctl> out = new ArrayList<>(names.size());
    for (String name : names) {
      String rel = "sys/" + name.replace('.', '/');
      try {
        String value = SPACES.matcher(fs.readSmall(rel).strip()).replaceAll(" ");
        out.add(Sysctl.newBuilder().setName(name).setValue(value).build());
      } catch (NoSuchFileException e) {
        // Absent on this kernel: absent in the sample.
      } catch (IOException e) {
        problems.skip(SourceErrors.describe(e));
      }
    }
    return out;
  }

  /** net.ipv4.ip_local_port_range as [low, high], or null when absent or malformed. */
  public static int[] portRange(List<Sysctl> sysctls) {
    for (Sysctl s : sysctls) {
      if (s.getName().equals("net.ipv4.ip_local_port_range")) {
        String[] f = s.getValue().split(" ");
        try {
          int low = Integer.parseInt(f[0]);
          int high = Integer.parseInt(f[f.length - 1]);
          return f.length == 2 && low > 0 && low <= high && high <= 65535
              ? new int[] {low, high}
              : null;
        } catch (NumberFormatException e) {
          return null;
        }
      }
    }
    return null;
  }
}

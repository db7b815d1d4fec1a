package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcParseException;
import java.io.IOException;

/**
 * The TCP established hash table of the network namespace of the thread that reads it: {@code
 * /proc/sys/net} answers for the reader's namespace, not for the namespace of the procfs mount, so
 * a namespace's table is read on a thread that has entered it (setns), and the agent's own on any
 * other. No file under {@code /proc/PID/net} tells it.
 *
 * <p>{@code net.ipv4.tcp_ehash_entries} is the table's bucket count, negative when the namespace
 * shares the host's table (it was made while {@code net.ipv4.tcp_child_ehash_entries} was 0). Both
 * sysctls came with kernel 6.1; before it every namespace shares the host's table.
 */
public final class TcpHashTableSource implements ProcSource<TcpHashTableSource.Table> {
  static final String EHASH = "sys/net/ipv4/tcp_ehash_entries";
  static final String CHILD_EHASH = "sys/net/ipv4/tcp_child_ehash_entries";

  /** The kernel refuses a larger tcp_child_ehash_entries; the host's table is sized at boot. */
  static final long MAX_BUCKETS = 1L << 31;

  /**
   * One namespace's table.
   *
   * @param buckets its bucket count (the host's, when shared)
   * @param shared whether it is the host's table, shared
   */
  public record Table(long buckets, boolean shared) {}

  private final ProcFs fs;

  public TcpHashTableSource(ProcFs fs) {
    this.fs = fs;
  }

  /**
   * The reading thread's namespace's table.
   *
   * @throws java.nio.file.NoSuchFileException on a kernel before 6.1 (every namespace shares)
   */
  @Override
  public Table read(Problems problems) throws IOException, ProcParseException {
    return parseTable(fs.display(EHASH), fs.readSmall(EHASH));
  }

  /**
   * {@code net.ipv4.tcp_child_ehash_entries} of the reading thread's namespace: the size of the
   * table a namespace made from it gets; 0 when such a namespace shares the host's.
   */
  public long childEntries() throws IOException, ProcParseException {
    String where = fs.display(CHILD_EHASH);
    long v = parseNumber(where, fs.readSmall(CHILD_EHASH));
    if (v < 0 || v > MAX_BUCKETS) {
      throw new ProcParseException(where, 1, "not a table size: " + v);
    }
    return v;
  }

  static Table parseTable(String where, String text) throws ProcParseException {
    long v = parseNumber(where, text);
    long buckets = Math.abs(v);
    // The kernel prints its hash mask + 1: a power of two, never 0.
    if (v == Long.MIN_VALUE || buckets > MAX_BUCKETS || Long.bitCount(buckets) != 1) {
      throw new ProcParseException(where, 1, "not a hash table size: " + v);
    }
    return new Table(buckets, v < 0);
  }

  private static long parseNumber(String where, String text) throws ProcParseException {
    String t = text.strip();
    try {
      return Long.parseLong(t);
    } catch (NumberFormatException e) {
      throw new ProcParseException(
          where, 1, "expected a number, got '" + (t.length() > 40 ? t.substring(0, 40) : t) + "'");
    }
  }
}

package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.Numbers;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.proto.v1.Conntrack;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.function.LongConsumer;

/**
 * Connection tracking of the agent's own network namespace, from {@code
 * /proc/sys/net/netfilter/nf_conntrack_{count,max,buckets}}; and of another namespace, from {@code
 * /proc/PID/net/stat/nf_conntrack} of a member, whose "entries" column is that namespace's count
 * (the sysctls under /proc/sys answer for the reader's own namespace only).
 *
 * <p>A kernel without conntrack, or with the module not loaded, has none of these files: the result
 * is then null (absent from the sample), which is not an error.
 */
public final class ConntrackSource implements ProcSource<Conntrack> {
  private static final String DIR = "sys/net/netfilter/";

  private final ProcFs fs;

  public ConntrackSource(ProcFs fs) {
    this.fs = fs;
  }

  @Override
  public Conntrack read(Problems problems) {
    Conntrack.Builder b = Conntrack.newBuilder();
    boolean any = false;
    any |= value("nf_conntrack_count", b::setCount, problems);
    any |= value("nf_conntrack_max", b::setMax, problems);
    any |= value("nf_conntrack_buckets", b::setBuckets, problems);
    return any ? b.build() : null;
  }

  private boolean value(String name, LongConsumer to, Problems problems) {
    String rel = DIR + name;
    try {
      String raw = fs.readSmall(rel).strip();
      to.accept(Numbers.parseUnsigned(raw, fs.display(rel), 1, name));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException | ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
      return false;
    }
  }

  /**
   * The conntrack count of the namespace process {@code pid} lives in, or -1 when that namespace
   * has no conntrack (no {@code stat/nf_conntrack}) or the process exited.
   */
  public long namespaceCount(int pid, Problems problems) {
    String rel = pid + "/net/stat/nf_conntrack";
    try {
      return entries(fs.display(rel), fs.readSmall(rel));
    } catch (NoSuchFileException e) {
      return -1;
    } catch (IOException | ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
      return -1;
    }
  }

  /**
   * The "entries" column of {@code /proc/net/stat/nf_conntrack}: a header line, then one line of
   * hex figures per CPU, each starting with the namespace's entry count. Pure.
   */
  public static long entries(String file, String content) throws ProcParseException {
    String[] lines = content.split("\n", 3);
    String[] header = lines[0].strip().split("\\s+");
    if (!header[0].equals("entries")) {
      throw new ProcParseException(
          file, 1, "expected a header starting with 'entries', got '" + header[0] + "'");
    }
    if (lines.length < 2 || lines[1].isBlank()) {
      throw new ProcParseException(file, 2, "no per-CPU line after the header");
    }
    String first = lines[1].strip().split("\\s+")[0];
    if (first.isEmpty()
        || first.length() > 8
        || !first.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      throw new ProcParseException(
          file, 2, "expected 8 hex digits for entries, got '" + first + "'");
    }
    return Long.parseLong(first, 16);
  }
}

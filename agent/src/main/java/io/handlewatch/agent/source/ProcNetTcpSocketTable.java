package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcNetTcpParser;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.proto.v1.TcpReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads {@code /proc/net/tcp} and {@code /proc/net/tcp6}, line by line. The fallback where netlink
 * is not available, and the reader for copied /proc trees. Slower than netlink, and under churn a
 * read can list a socket twice or miss one (the kernel walks its hash table in chunks between
 * reads).
 */
public final class ProcNetTcpSocketTable implements SocketTable {
  private final Path procRoot;

  public ProcNetTcpSocketTable(Path procRoot) {
    this.procRoot = procRoot;
  }

  @Override
  public TcpReader kind() {
    return TcpReader.TCP_READER_PROC;
  }

  @Override
  public long forEach(SocketVisitor visitor, Problems problems) throws IOException {
    SocketEntry entry = new SocketEntry();
    long n = read(procRoot.resolve("net/tcp"), SocketEntry.AF_INET, entry, visitor, problems);
    try {
      n += read(procRoot.resolve("net/tcp6"), SocketEntry.AF_INET6, entry, visitor, problems);
    } catch (NoSuchFileException e) {
      // IPv6 disabled: no tcp6, and no IPv6 sockets to count.
    }
    return n;
  }

  private long read(
      Path file, int family, SocketEntry entry, SocketVisitor visitor, Problems problems)
      throws IOException {
    long n = 0;
    String name = file.toString();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
      String line = r.readLine(); // header
      int lineNo = 1;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        try {
          ProcNetTcpParser.parse(name, lineNo, line, family, entry);
        } catch (ProcParseException e) {
          // One bad line must not cost the whole table: skip it, say where.
          problems.skip(SourceErrors.describe(e));
          continue;
        }
        visitor.socket(entry);
        n++;
      }
    }
    return n;
  }
}

package io.handlewatch.agent.source.parse;

import io.handlewatch.proto.v1.Sockstat;

/**
 * Parses {@code /proc/net/sockstat} and {@code /proc/net/sockstat6}: lines of a protocol label
 * followed by name/value pairs ("TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1"). Pure: no I/O.
 */
public final class SockstatParser {
  private SockstatParser() {}

  /**
   * Adds what {@code content} holds to {@code into}. Lines and pairs this build doesn't know are
   * ignored (kernels add protocols); a known pair with a bad value is an error naming the line.
   */
  public static void parse(String file, String content, Sockstat.Builder into)
      throws ProcParseException {
    String[] lines = content.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new ProcParseException(
            file, i + 1, "expected 'LABEL: name value ...', got '" + line + "'");
      }
      String label = line.substring(0, colon);
      String[] f = line.substring(colon + 1).strip().split("\\s+");
      if (f.length % 2 != 0 || f[0].isEmpty()) {
        throw new ProcParseException(
            file, i + 1, "expected name/value pairs after '" + label + ":', got '" + line + "'");
      }
      for (int k = 0; k < f.length; k += 2) {
        String name = f[k];
        String raw = f[k + 1];
        switch (label + "." + name) {
          case "sockets.used" -> into.setSocketsUsed(number(file, i, name, raw));
          case "TCP.inuse" -> into.setTcpInuse(number(file, i, name, raw));
          case "TCP.orphan" -> into.setTcpOrphan(number(file, i, name, raw));
          case "TCP.tw" -> into.setTcpTw(number(file, i, name, raw));
          case "TCP.alloc" -> into.setTcpAlloc(number(file, i, name, raw));
          case "TCP.mem" -> into.setTcpMemPages(number(file, i, name, raw));
          case "UDP.inuse" -> into.setUdpInuse(number(file, i, name, raw));
          case "UDP.mem" -> into.setUdpMemPages(number(file, i, name, raw));
          case "TCP6.inuse" -> into.setTcp6Inuse(number(file, i, name, raw));
          case "UDP6.inuse" -> into.setUdp6Inuse(number(file, i, name, raw));
          default -> {
            // Other protocols and counters (RAW, FRAG, UDPLITE...) are not part of the sample.
          }
        }
      }
    }
  }

  private static long number(String file, int index, String name, String raw)
      throws ProcParseException {
    return Numbers.parseUnsigned(raw, file, index + 1, "'" + name + "'");
  }
}

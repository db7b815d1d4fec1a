package io.handlewatch.agent.source.parse;

import io.handlewatch.agent.source.Problems;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code /proc/net/netstat} and {@code /proc/net/snmp}: pairs of lines, a label with column
 * names, then the same label with one value per name:
 *
 * <pre>
 *   TcpExt: SyncookiesSent SyncookiesRecv ... ListenOverflows ListenDrops ...
 *   TcpExt: 0 0 ... 12 12 ...
 * </pre>
 *
 * Pure: no I/O. Only the wanted columns are parsed (some others are signed, such as Tcp MaxConn
 * -1). A pair whose lengths differ, a line without a label, a header left without values, or a
 * wanted value that is not a number is skipped and counted in the problems, naming file and line;
 * the rest of the file still counts.
 */
public final class ProcNetCountersParser {
  private ProcNetCountersParser() {}

  /**
   * @param wanted "Label.Column" keys, e.g. "TcpExt.ListenOverflows", "Tcp.RetransSegs"
   * @return the wanted values found, by the same keys
   */
  public static Map<String, Long> parse(
      String file, String content, Set<String> wanted, Problems problems) {
    Map<String, Long> out = new HashMap<>();
    String[] lines = content.split("\n", -1);
    String headerLabel = null;
    String[] header = null;
    int headerLine = 0;
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        problems.skip(
            new ProcParseException(file, i + 1, "expected 'Label: ...', got '" + cut(line) + "'")
                .getMessage());
        continue;
      }
      String label = line.substring(0, colon);
      String[] f = line.substring(colon + 1).strip().split("\\s+");
      if (header == null || !label.equals(headerLabel)) {
        if (header != null) {
          problems.skip(
              new ProcParseException(
                      file, headerLine, "names of '" + headerLabel + ":' without a line of values")
                  .getMessage());
        }
        headerLabel = label;
        header = f;
        headerLine = i + 1;
        continue;
      }
      String[] names = header;
      header = null;
      if (!wantsAny(label, wanted)) {
        continue;
      }
      if (names.length != f.length) {
        problems.skip(
            new ProcParseException(
                    file,
                    i + 1,
                    "'"
                        + label
                        + ":' has "
                        + names.length
                        + " names but "
                        + f.length
                        + " values: pair skipped")
                .getMessage());
        continue;
      }
      for (int k = 0; k < names.length; k++) {
        String key = label + "." + names[k];
        if (!wanted.contains(key)) {
          continue;
        }
        try {
          out.put(key, Numbers.parseUnsigned(f[k], file, i + 1, "'" + names[k] + "'"));
        } catch (ProcParseException e) {
          problems.skip(e.getMessage());
        }
      }
    }
    if (header != null) {
      problems.skip(
          new ProcParseException(
                  file, headerLine, "names of '" + headerLabel + ":' without a line of values")
              .getMessage());
    }
    return out;
  }

  private static boolean wantsAny(String label, Set<String> wanted) {
    String prefix = label + ".";
    for (String w : wanted) {
      if (w.startsWith(prefix)) return true;
    }
    return false;
  }

  private static String cut(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }
}

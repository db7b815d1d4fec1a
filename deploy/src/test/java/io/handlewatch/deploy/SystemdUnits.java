package io.handlewatch.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A systemd unit file read as sections of keys, each key with every value it was given. */
record SystemdUnits(Map<String, Map<String, List<String>>> sections) {
  static SystemdUnits read(Path file) throws IOException {
    Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
    Map<String, List<String>> current = null;
    for (String raw : Files.readAllLines(file)) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) continue;
      if (line.startsWith("[") && line.endsWith("]")) {
        current =
            sections.computeIfAbsent(
                line.substring(1, line.length() - 1), s -> new LinkedHashMap<>());
        continue;
      }
      int eq = line.indexOf('=');
      if (current == null || eq < 0) throw new IOException(file + ": not a unit line: " + raw);
      current
          .computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>())
          .add(line.substring(eq + 1).strip());
    }
    return new SystemdUnits(sections);
  }

  /** The last value of a key (systemd's rule for single-valued keys), or null. */
  String get(String section, String key) {
    List<String> values = sections.getOrDefault(section, Map.of()).get(key);
    return values == null ? null : values.getLast();
  }

  /** Every value given to a key, in order. */
  List<String> all(String section, String key) {
    return sections.getOrDefault(section, Map.of()).getOrDefault(key, List.of());
  }
}

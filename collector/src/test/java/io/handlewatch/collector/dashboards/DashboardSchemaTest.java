package io.handlewatch.collector.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.store.StorageSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dashboards' InfluxQL names only what the storage schema declares: every measurement a query
 * reads FROM is one of {@link StorageSchema}'s, and every other quoted name in it is a tag or field
 * of those measurements, an alias the query defines ({@code AS "x"}), or the column a function of a
 * subquery returns ({@code last}). {@code DashboardQueriesIT} runs the same queries against a real
 * influxd; this catches a renamed field before that, and names the query.
 */
class DashboardSchemaTest {
  static final Path DASHBOARDS = Path.of("..", "dashboards");
  static final Pattern FROM = Pattern.compile("FROM\\s+\"([^\"]+)\"");
  static final Pattern ALIAS = Pattern.compile("\\bAS\\s+\"([^\"]+)\"");
  static final Pattern QUOTED = Pattern.compile("\"([^\"]+)\"");
  static final Pattern FUNCTION = Pattern.compile("\\b([a-z_]+)\\(");

  @Test
  void everyNameADashboardQueryUsesIsDeclaredByTheSchema() throws Exception {
    List<String> queries = new ArrayList<>();
    try (Stream<Path> files = Files.list(DASHBOARDS)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
        collect(new ObjectMapper().readTree(f.toFile()), queries);
      }
    }
    int checked = 0;
    for (String q : queries) {
      Set<String> from = matches(FROM, q);
      if (from.isEmpty()) continue; // the data source variable ("influxdb")
      checked++;
      Set<String> allowed = new TreeSet<>(matches(ALIAS, q));
      allowed.addAll(matches(FUNCTION, q));
      allowed.add(StorageSchema.HOST);
      for (String m : from) {
        StorageSchema.Measurement measurement =
            StorageSchema.find(m)
                .orElseThrow(() -> new AssertionError("no measurement '" + m + "' in: " + q));
        allowed.addAll(measurement.tags());
        allowed.addAll(measurement.fieldNames());
      }
      Set<String> unknown = matches(QUOTED, q);
      unknown.removeAll(from);
      unknown.removeAll(allowed);
      assertThat(unknown).as("names not in the schema in: %s", q).isEmpty();
    }
    assertThat(checked).as("queries checked").isGreaterThan(30);
  }

  /** Every "query" string of a dashboard: panel targets and template variables. */
  private static void collect(JsonNode node, List<String> out) {
    if (node.isObject()) {
      node.properties()
          .forEach(
              e -> {
                if (e.getKey().equals("query") && e.getValue().isTextual()) {
                  out.add(e.getValue().asText());
                } else {
                  collect(e.getValue(), out);
                }
              });
    } else if (node.isArray()) {
      node.forEach(n -> collect(n, out));
    }
  }

  private static Set<String> matches(Pattern p, String text) {
    Set<String> out = new TreeSet<>();
    Matcher m = p.matcher(text);
    while (m.find()) out.add(m.group(1));
    return out;
  }
}

package io.handlewatch.collector.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.handlewatch.collector.AlertAnnotations;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionEngine;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/storage-schema.md lists exactly what the collector writes: every measurement, tag and field
 * (with its type) that the code writes has a row, and every row is written. What is written comes
 * from the code itself: {@link ReportPoints} on a report with every field of the contract set (so a
 * field added to the proto and stored shows up here), and the detector's and the alert book's
 * points from replaying the example trace of a CLOSE_WAIT leak.
 */
class StorageSchemaDocTest {
  static final Path DOC = Path.of("..", "docs", "storage-schema.md");
  static final Path TRACE = Path.of("src", "test", "resources", "traces", "close-wait-leak.jsonl");

  /** How host labels appear in the document: one row standing for every label key. */
  static final String LABEL = "<label>";

  static final Pattern MEASUREMENT = Pattern.compile("^### `([a-z_]+)`");
  static final Pattern ROW = Pattern.compile("^\\| `([^`]+)` \\| (tag|field) \\| (\\w+) \\|");

  @Test
  void everyMeasurementTagAndFieldWrittenIsDocumentedAndEveryDocumentedOneIsWritten()
      throws Exception {
    Map<String, String> written = new TreeMap<>();
    List<StoredPoint> points = new ArrayList<>(ReportPoints.of(fullReport()));
    points.addAll(detectorPoints());
    for (StoredPoint p : points) {
      for (String tag : p.tags().keySet()) {
        String name = tag.equals("env") ? LABEL : tag;
        written.put(p.measurement() + "." + name, "tag string");
      }
      p.fields()
          .forEach(
              (name, value) -> {
                String row = "field " + type(value);
                String before = written.put(p.measurement() + "." + name, row);
                assertThat(before).as("type of %s.%s", p.measurement(), name).isIn(null, row);
              });
    }
    assertThat(written.keySet())
        .as("what the code writes")
        .contains(
            "tcp.close_wait",
            "process.pod",
            "netns.namespace",
            "verdict.eta_seconds",
            "tcp.<label>");

    Map<String, String> documented = documented();
    assertThat(documented)
        .as("%s against what the collector writes", DOC)
        .containsExactlyInAnyOrderEntriesOf(written);
  }

  /** Rows by "measurement.name", as "tag string" or "field TYPE". */
  static Map<String, String> documented() throws Exception {
    Map<String, String> rows = new TreeMap<>();
    String measurement = null;
    for (String line : Files.readAllLines(DOC)) {
      if (line.startsWith("#")) {
        Matcher m = MEASUREMENT.matcher(line);
        measurement = m.find() ? m.group(1) : null;
        continue;
      }
      Matcher r = ROW.matcher(line);
      if (measurement != null && r.find()) {
        String before = rows.put(measurement + "." + r.group(1), r.group(2) + " " + r.group(3));
        assertThat(before).as("%s.%s listed twice", measurement, r.group(1)).isNull();
      }
    }
    return rows;
  }

  static String type(Object value) {
    return switch (value) {
      case Long l -> "integer";
      case Double d -> "float";
      case String s -> "string";
      case Boolean b -> "boolean";
      default -> throw new AssertionError("a field of type " + value.getClass());
    };
  }

  /** A report with every field of the contract set, one element per list, and one host label. */
  static HostReport fullReport() {
    HostReport.Builder b = HostReport.newBuilder();
    fill(b, 0);
    var sample = b.getSampleBuilder();
    sample.getHostBuilder().clearLabels().putLabels("env", "prod");
    // A sysctl stores a number beside its text when it is one.
    for (var s : sample.getSysctlsBuilderList()) s.setValue("4096");
    return b.build();
  }

  private static void fill(Message.Builder b, int depth) {
    assertThat(depth).as("nesting of %s", b.getDescriptorForType().getName()).isLessThan(10);
    for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
      Object v;
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        Message.Builder sub = b.newBuilderForField(f);
        fill(sub, depth + 1);
        v = sub.build();
      } else {
        v =
            switch (f.getJavaType()) {
              case INT -> 7;
              case LONG -> 7L;
              case FLOAT -> 0.5f;
              case DOUBLE -> 0.5;
              case BOOLEAN -> true;
              case STRING -> "x7";
              case BYTE_STRING -> ByteString.copyFromUtf8("x7");
              case ENUM -> f.getEnumType().getValues().getLast();
              default -> throw new AssertionError(f.getFullName());
            };
      }
      if (f.isRepeated()) b.addRepeatedField(f, v);
      else b.setField(f, v);
    }
  }

  /** The detector's verdicts and the alert book's transitions on the example leak. */
  static List<StoredPoint> detectorPoints() throws Exception {
    List<StoredPoint> points = new ArrayList<>();
    List<Alert> alerts = new ArrayList<>();
    DetectionEngine engine =
        new DetectionEngine(
            new DetectionFactory().build(), alerts::add, points::addAll, h -> Map.of());
    JsonFormat.Parser parser = JsonFormat.parser();
    for (String line : Files.readAllLines(TRACE)) {
      HostReport.Builder r = HostReport.newBuilder();
      parser.merge(line, r);
      engine.evaluate(r.build());
    }
    assertThat(alerts).as("transitions of the example leak").hasSizeGreaterThanOrEqualTo(2);
    for (Alert a : alerts) points.add(AlertAnnotations.point(a));
    Set<String> measurements = new TreeSet<>();
    points.forEach(p -> measurements.add(p.measurement()));
    assertThat(measurements).containsExactlyInAnyOrder("verdict", "alert");
    return points;
  }
}

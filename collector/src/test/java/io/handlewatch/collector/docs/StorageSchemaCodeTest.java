package io.handlewatch.collector.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StorageSchema;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.StoredReports;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@link StorageSchema} declares exactly what the collector writes: the points {@link ReportPoints}
 * makes of a report with every field set, and the detector's and alert book's on the example leak,
 * have the measurements, tags, fields and field types the schema lists, and nothing the schema
 * lists is left unwritten. With {@link StorageSchemaDocTest} (the document against the same points)
 * the code, the schema and docs/storage-schema.md cannot drift apart.
 */
class StorageSchemaCodeTest {
  @Test
  void theSchemaDeclaresExactlyWhatIsWritten() throws Exception {
    List<StoredPoint> points = new ArrayList<>(ReportPoints.of(StorageSchemaDocTest.fullReport()));
    points.addAll(StorageSchemaDocTest.detectorPoints());
    Map<String, String> written = new TreeMap<>();
    for (StoredPoint p : points) {
      for (String tag : p.tags().keySet()) {
        String name = tag.equals("env") ? StorageSchemaDocTest.LABEL : tag;
        written.put(p.measurement() + "." + name, "tag");
      }
      p.fields()
          .forEach(
              (name, value) ->
                  written.put(
                      p.measurement() + "." + name, "field " + StorageSchemaDocTest.type(value)));
    }

    Map<String, String> declared = new TreeMap<>();
    for (StorageSchema.Measurement m : StorageSchema.ALL) {
      declared.put(m.name() + "." + StorageSchema.HOST, "tag");
      if (m.hostLabels()) declared.put(m.name() + "." + StorageSchemaDocTest.LABEL, "tag");
      for (String t : m.tags()) declared.put(m.name() + "." + t, "tag");
      for (StorageSchema.Field f : m.fields()) {
        declared.put(m.name() + "." + f.name(), "field " + f.type().name().toLowerCase());
      }
    }
    assertThat(declared).as("StorageSchema against what is written").isEqualTo(written);
  }

  @Test
  void whatDetectionReadsBackIsInTheSchema() {
    assertThat(StoredReports.MEASUREMENTS)
        .allSatisfy(m -> assertThat(StorageSchema.find(m)).as(m).isPresent());
  }
}

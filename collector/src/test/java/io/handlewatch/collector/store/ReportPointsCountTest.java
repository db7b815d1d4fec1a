package io.handlewatch.collector.store;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Ingest's admission budget charges a report {@link ReportPoints#maxPoints} before the store makes
 * its points: the bound on the store's buffer is exact only while that count covers every point
 * {@link ReportPoints#of} makes. A report with every field of the contract set (and every repeated
 * field twice, to any depth) checks it, so a measurement added to {@code of} and not to {@code
 * maxPoints} fails here.
 */
class ReportPointsCountTest {
  @Test
  void theCountCoversEveryPointOfAReportWithEveryFieldSet() {
    HostReport full = (HostReport) fill(HostReport.newBuilder(), 0).build();
    int made = ReportPoints.of(full).size();
    assertThat(made).as("the filled report makes points of every kind").isGreaterThan(10);
    assertThat(ReportPoints.maxPoints(full)).isGreaterThanOrEqualTo(made);
  }

  @Test
  void theCountIsTightForAnOrdinaryReport() {
    HostReport r = report("web-1", 1, Instant.now());
    int made = ReportPoints.of(r).size();
    assertThat(ReportPoints.maxPoints(r)).isBetween(made, made + 4);
  }

  private static Message.Builder fill(Message.Builder b, int depth) {
    for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth > 6) continue;
      if (f.isRepeated()) {
        for (int i = 0; i < 2; i++) b.addRepeatedField(f, value(b, f, depth, i));
      } else {
        b.setField(f, value(b, f, depth, 0));
      }
    }
    return b;
  }

  private static Object value(Message.Builder b, FieldDescriptor f, int depth, int i) {
    return switch (f.getJavaType()) {
      case MESSAGE -> fill(b.newBuilderForField(f), depth + 1).build();
      case STRING -> f.getName().equals("hostname") ? "full-host" : f.getName() + "-" + i;
      case INT -> (Integer) (1 + i);
      case LONG -> (Long) (1L + i);
      case DOUBLE -> 0.5 + i;
      case FLOAT -> 0.5f + i;
      case BOOLEAN -> true;
      case BYTE_STRING -> com.google.protobuf.ByteString.copyFromUtf8("b" + i);
      case ENUM -> f.getEnumType().getValues().getLast();
    };
  }
}

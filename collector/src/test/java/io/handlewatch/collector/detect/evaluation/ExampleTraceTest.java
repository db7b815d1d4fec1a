package io.handlewatch.collector.detect.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checked-in example trace is what {@link ExampleTrace} generates, byte for byte. */
class ExampleTraceTest {
  @Test
  void theCheckedInTraceIsTheGeneratedOne(@TempDir Path dir) throws Exception {
    Path fresh = dir.resolve("trace.jsonl");
    ExampleTrace.trace().writeJsonLines(fresh);
    assertThat(Files.readString(ExampleTrace.FILE))
        .as(
            "%s differs from ExampleTrace's output: regenerate it on purpose with"
                + " ExampleTrace.main",
            ExampleTrace.FILE)
        .isEqualTo(Files.readString(fresh));
  }
}

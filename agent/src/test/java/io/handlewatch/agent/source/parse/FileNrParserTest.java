package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FileNrParserTest {
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'394\t0\t2466170\n' | 394 | 2466170",
        "'1 0 9223372036854775807' | 1 | 9223372036854775807",
        "'  0 0 0  ' | 0 | 0",
      })
  void readsAllocatedAndMax(String content, long allocated, long max) throws Exception {
    assertThat(FileNrParser.parse("/proc/sys/fs/file-nr", content))
        .isEqualTo(new FileNrParser.FileNr(allocated, max));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'' | empty file",
        "'394 0' | expected 3 fields",
        "'394 0 1 2' | expected 3 fields",
        "'394 zero 100' | expected a number for unused",
        "'394 0 100\n5 0 100' | expected one line",
        "'-1 0 100' | expected a number for allocated",
      })
  void rejectsMalformed(String content, String problem) {
    assertThatThrownBy(() -> FileNrParser.parse("/proc/sys/fs/file-nr", content))
        .isInstanceOf(ProcParseException.class)
        .hasMessageStartingWith("/proc/sys/fs/file-nr:")
        .hasMessageContaining(problem);
  }
}

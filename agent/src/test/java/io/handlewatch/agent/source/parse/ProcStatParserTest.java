package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProcStatParserTest {
  private static final String TAIL =
      " R 3499 3499 1063 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 489974 3133440 370"
          + " 18446744073709551615 94306456559616 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'3503 (cat)' | cat",
        "'4121 (java)' | java",
        "'77 (Web Content)' | Web Content",
        "'78 (a) b (c))' | a) b (c)",
        "'79 ()' | ''",
      })
  void readsCommAndStartTime(String head, String comm) throws Exception {
    ProcStatParser.ProcStat s = ProcStatParser.parse("/proc/1/stat", head + TAIL);
    assertThat(s.comm()).isEqualTo(comm);
    assertThat(s.startTicks()).isEqualTo(489974L);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'' | no '(comm)' field",
        "'3503 cat R 1 2' | no '(comm)' field",
        "'3503 (cat) R 3499 3499' | expected at least 22 fields, got 5",
        "'3503 (cat) R 3499 3499 1063 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 soon 1' | expected a number for starttime",
      })
  void rejectsMalformed(String content, String problem) {
    assertThatThrownBy(() -> ProcStatParser.parse("/proc/1/stat", content))
        .isInstanceOf(ProcParseException.class)
        .hasMessageStartingWith("/proc/1/stat:1: ")
        .hasMessageContaining(problem);
  }
}

package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LimitsParserTest {
  private static final String HEADER =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
          + "Max cpu time              unlimited            unlimited            seconds   \n"
          + "Max processes             96365                96365                processes \n";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'Max open files            20000                20000                files     ' | 20000 | 20000",
        "'Max open files            1024                 524288               files     ' | 1024 | 524288",
        "'Max open files            unlimited            unlimited            files     ' | 9223372036854775807 | 9223372036854775807",
      })
  void readsNofile(String row, long soft, long hard) throws Exception {
    String content =
        HEADER
            + row
            + "\nMax locked memory         8388608              8388608              bytes     \n";
    assertThat(LimitsParser.parseNofile("/proc/42/limits", content))
        .isEqualTo(new LimitsParser.NofileLimit(soft, hard));
  }

  @Test
  void missingRowIsAnError() {
    assertThatThrownBy(() -> LimitsParser.parseNofile("/proc/42/limits", HEADER))
        .isInstanceOf(ProcParseException.class)
        .hasMessage("/proc/42/limits: no 'Max open files' row");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'Max open files            1024' | 4 | expected soft and hard limits",
        "'Max open files            lots                 524288               files' | 4 | expected a number for soft limit",
        "'Max open files            1024                 -5                   files' | 4 | expected a number for hard limit",
      })
  void malformedRowNamesTheLine(String row, int line, String problem) {
    assertThatThrownBy(() -> LimitsParser.parseNofile("/proc/42/limits", HEADER + row + "\n"))
        .isInstanceOf(ProcParseException.class)
        .hasMessageStartingWith("/proc/42/limits:" + line + ": ")
        .hasMessageContaining(problem);
  }
}

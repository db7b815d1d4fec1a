package io.handlewatch.collector.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TagValuesTest {
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "java|java",
        "my worker|my worker",
        "a,b=c|a,b=c",
        "back\\slash|back\\slash",
        "tail\\|tail",
        "tail\\\\\\|tail",
        "\\|-",
        "``|-",
      })
  void keepsWhatLineProtocolCanEscapeAndFixesTheRest(String in, String out) {
    assertThat(TagValues.safe(in)).isEqualTo(out);
  }

  @org.junit.jupiter.api.Test
  void spellsOutControlCharacters() {
    assertThat(TagValues.safe("a\nb\rc\td\u0001")).isEqualTo("a\\nb\\rc\\td\\x01");
    assertThat(TagValues.safe(null)).isEqualTo("-");
    assertThat(TagValues.safe("x".repeat(1000))).hasSize(TagValues.MAX_LENGTH);
  }
}

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
        "tail\\|tail\\",
        "\\|\\",
        "``|-",
      })
  void keepsWhatLineProtocolCanEscapeAndFixesTheRest(String in, String out) {
    assertThat(TagValues.safe(in)).isEqualTo(out);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "java|java",
        "tail\\|tail\\x5c",
        "tail\\\\|tail\\x5c\\x5c",
        "in\\ner|in\\ner",
        "\\|\\x5c",
      })
  void lineProtocolSpellsOutTrailingBackslashesAndReadsThemBack(String safe, String wire) {
    assertThat(TagValues.toLineProtocol(safe)).isEqualTo(wire);
    assertThat(TagValues.fromLineProtocol(wire)).isEqualTo(safe);
  }

  @org.junit.jupiter.api.Test
  void spellsOutControlCharacters() {
    assertThat(TagValues.safe("a\nb\rc\td\u0001")).isEqualTo("a\\nb\\rc\\td\\x01");
    assertThat(TagValues.safe(null)).isEqualTo("-");
    assertThat(TagValues.safe("x".repeat(1000))).hasSize(TagValues.MAX_LENGTH);
  }
}

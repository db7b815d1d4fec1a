package io.handlewatch.collector.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentTokensTest {
  private static final String WEB = "web1-token-aaaaaaaaaaaa";
  private static final String DB = "db1-token-bbbbbbbbbbbbb";

  @Test
  void tokensAndTheirDigestsMapToHosts(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("tokens");
    Files.writeString(
        f, "# agents\nweb-1 " + WEB + "\n\n  db-1\t" + TokenDigests.describe(DB) + "  # hashed\n");
    AgentTokens t = AgentTokens.load("ingest.auth.tokensFile", f);
    assertThat(t.size()).isEqualTo(2);
    assertThat(t.hostFor(WEB)).contains("web-1");
    assertThat(t.hostFor(DB)).contains("db-1");
    assertThat(t.hostFor(TokenDigests.describe(DB))).as("the digest is not a token").isEmpty();
    assertThat(t.hostFor("nope-nope-nope-nope")).isEmpty();
  }

  @Test
  void aBadLineIsNamedWithoutEchoingTheToken() {
    assertThatThrownBy(() -> AgentTokens.parse(List.of("web-1 " + WEB, "db-1")))
        .hasMessageContaining("line 2");
    assertThatThrownBy(() -> AgentTokens.parse(List.of("web-1 short")))
        .hasMessageContaining("line 1")
        .hasMessageNotContaining("short");
    assertThatThrownBy(() -> AgentTokens.parse(List.of("web-1 sha256:abc")))
        .hasMessageContaining("64 hex digits");
    assertThatThrownBy(() -> AgentTokens.parse(List.of("web-1 " + WEB, "db-1 " + WEB)))
        .hasMessageContaining("line 2")
        .hasMessageContaining("already belongs to web-1");
    assertThatThrownBy(() -> AgentTokens.parse(List.of("bad/host " + WEB)))
        .hasMessageContaining("not a host name");
  }

  @Test
  void aMissingFileIsNamedByItsKey(@TempDir Path dir) {
    assertThatThrownBy(() -> AgentTokens.load("ingest.auth.tokensFile", dir.resolve("none")))
        .hasMessageContaining("ingest.auth.tokensFile")
        .hasMessageContaining("none");
  }

  @Test
  void aChangedFileIsReloadedAndABrokenOneKeepsTheOldTokens(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("tokens");
    Files.writeString(f, "web-1 " + WEB + "\n");
    AgentTokens t = AgentTokens.load("k", f);
    assertThat(t.reloadIfChanged()).as("unchanged").isFalse();

    Files.writeString(f, "web-1 " + WEB + "\ndb-1 " + DB + "\n");
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 5000));
    assertThat(t.reloadIfChanged()).isTrue();
    assertThat(t.hostFor(DB)).contains("db-1");

    Files.writeString(f, "db-1\n");
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + 10000));
    assertThat(t.reloadIfChanged()).isFalse();
    assertThat(t.reloadFailures()).isEqualTo(1);
    assertThat(t.hostFor(WEB)).contains("web-1");
    assertThat(t.hostFor(DB)).contains("db-1");
  }
}

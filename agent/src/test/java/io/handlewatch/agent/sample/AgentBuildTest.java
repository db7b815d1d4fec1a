package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class AgentBuildTest {
  @Test
  void theBuildFilledInTheVersionAndCommit() {
    AgentBuild b = AgentBuild.current();
    assertThat(b.version()).isNotEqualTo("unknown").doesNotContain("${");
    assertThat(b.commit()).hasValueSatisfying(c -> assertThat(c).matches("[0-9a-f]{7,40}"));
  }

  @Test
  void theCommitFollowsTheVersion() {
    AgentBuild b = AgentBuild.of("1.2.3", "0123456789ab");
    assertThat(b.describe()).isEqualTo("1.2.3 (commit 0123456789ab)");
  }

  @Test
  void unfilledValuesAreUnknownNotLiteral() {
    // Built outside a git checkout ("unknown"), or without the plugin (the placeholder stays).
    AgentBuild b = AgentBuild.of("0.1.0", "unknown");
    assertThat(b).isEqualTo(new AgentBuild("0.1.0", Optional.empty()));
    assertThat(b.describe()).isEqualTo("0.1.0");
    assertThat(AgentBuild.of("0.1.0", "${buildNumber}").commit()).isEmpty();
    assertThat(AgentBuild.of(null, null).version()).isEqualTo("unknown");
  }
}

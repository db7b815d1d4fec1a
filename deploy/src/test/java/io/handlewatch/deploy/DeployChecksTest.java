package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The checks the deployment tests rely on refuse what the programs would refuse. */
class DeployChecksTest {
  @TempDir Path dir;

  @Test
  void anUnknownCollectorKeyIsRefusedByName() {
    assertThatThrownBy(
            () ->
                CollectorConfigCheck.validate(
                    "bad.yml", "ingest:\n  prot: 9400\nstore:\n  type: memory\n", Map.of()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("ingest.prot");
  }

  @Test
  void anUnsetVariableWithoutDefaultIsRefused() throws Exception {
    String yaml = "store:\n  type: influxdb\n  url: ${INFLUXDB_URL}\n";
    assertThatThrownBy(() -> CollectorConfigCheck.validate("bad.yml", yaml, Map.of()))
        .hasMessageContaining("INFLUXDB_URL");
    assertThat(
            CollectorConfigCheck.validate("ok.yml", yaml, Map.of("INFLUXDB_URL", "http://i:8086")))
        .isNotNull();
  }

  @Test
  void anUnknownAgentOptionOrKeyIsRefusedByName() throws Exception {
    assertThatThrownBy(
            () ->
                AgentCommandCheck.parse(
                    List.of("run", "--collector", "c:9400", "--intervall", "5s")))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--intervall");
    Path props = Files.writeString(dir.resolve("a.properties"), "collector=c:9400\nintervall=5s\n");
    assertThatThrownBy(() -> AgentCommandCheck.parse(List.of("run", "--config", props.toString())))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("intervall");
    assertThatThrownBy(() -> AgentCommandCheck.parse(List.of("run", "--interval", "5s")))
        .as("--collector is required")
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--collector");
  }
}

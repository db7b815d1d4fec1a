package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * deploy/docker-compose.yml through Compose itself: {@code config} validates the file against the
 * Compose schema (unknown keys, wrong types, a build context that does not exist) on the client,
 * without a Docker engine. Uses the {@code docker compose} plugin when there is one, else Debian's
 * {@code docker-compose} (installed by bin/test).
 */
class DockerComposeConfigIT {
  @Test
  void composeAcceptsTheFile() throws Exception {
    List<String> compose = composeCommand();
    assumeTrue(compose != null, "neither 'docker compose' nor 'docker-compose' runs here");
    List<String> cmd = new ArrayList<>(compose);
    cmd.addAll(List.of("-f", DockerComposeTest.COMPOSE.toString(), "config"));
    SystemdUnitsIT.Run r = SystemdUnitsIT.run(cmd);
    assertThat(r.exit()).as(String.join(" ", cmd) + "\n" + r.out()).isZero();
    // What Compose resolved: the agent's host namespaces and capabilities survived its model.
    var resolved = DeployFiles.parseYaml(r.out()).get("services").get("agent");
    assertThat(resolved.get("pid").asText()).isEqualTo("host");
    assertThat(resolved.get("network_mode").asText()).isEqualTo("host");
    assertThat(DeployFiles.texts(resolved.get("cap_add")))
        .contains("SYS_PTRACE", "DAC_READ_SEARCH");
  }

  @Test
  void composeRejectsAMistake() throws Exception {
    // Worth something only if config really checks: a misspelt key must fail.
    List<String> compose = composeCommand();
    assumeTrue(compose != null, "neither 'docker compose' nor 'docker-compose' runs here");
    var broken = java.nio.file.Files.createTempFile("compose", ".yml");
    try {
      java.nio.file.Files.writeString(
          broken,
          java.nio.file.Files.readString(DockerComposeTest.COMPOSE)
              .replace("    cap_drop: [ALL]\n    cap_add:", "    cap_drop: [ALL]\n    cap_addd:"));
      List<String> cmd = new ArrayList<>(compose);
      cmd.addAll(List.of("-f", broken.toString(), "config"));
      SystemdUnitsIT.Run r = SystemdUnitsIT.run(cmd);
      assertThat(r.exit()).as(r.out()).isNotZero();
      assertThat(r.out()).contains("cap_addd");
    } finally {
      java.nio.file.Files.delete(broken);
    }
  }

  static List<String> composeCommand() throws InterruptedException {
    for (List<String> candidate :
        List.of(List.of("docker", "compose"), List.of("docker-compose"))) {
      List<String> version = new ArrayList<>(candidate);
      version.add("version");
      SystemdUnitsIT.Run r = SystemdUnitsIT.run(version);
      if (r != null && r.exit() == 0) return candidate;
    }
    return null;
  }
}

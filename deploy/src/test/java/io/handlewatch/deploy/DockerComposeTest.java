package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.store.influx.InfluxStoreFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/docker-compose.yml for shape: every part of the stack is there, the agent sees the host
 * (PID and network namespaces, /proc read-only at /host/proc) with two capabilities and the means
 * to switch to its own user instead of privileged mode, files it mounts or builds from exist, and
 * the collector configuration and agent command it ships pass their programs' own checks.
 */
class DockerComposeTest {
  static final Path COMPOSE = DeployFiles.DEPLOY.resolve("docker-compose.yml");

  @TempDir static Path dir;
  static JsonNode services;

  @BeforeAll
  static void read() throws Exception {
    services = DeployFiles.document(COMPOSE).get("services");
  }

  @Test
  void theWholeStackIsThere() {
    assertThat(services.fieldNames())
        .toIterable()
        .contains("influxdb", "grafana", "alertmanager", "collector", "agent");
  }

  @Test
  void agentSeesTheHostWithTwoCapabilitiesNotPrivileged() {
    JsonNode agent = services.get("agent");
    assertThat(agent.path("pid").asText()).isEqualTo("host");
    assertThat(agent.path("network_mode").asText()).isEqualTo("host");
    assertThat(agent.path("privileged").asBoolean(false)).isFalse();
    assertThat(DeployFiles.texts(agent.get("volumes"))).contains("/proc:/host/proc:ro");
    List<String> command = DeployFiles.texts(agent.get("command"));
    assertThat(command).containsSequence("--proc-root", "/host/proc");
    assertThat(DeployFiles.texts(agent.get("cap_drop"))).containsExactly("ALL");
    // SETUID and SETGID only let the entrypoint switch to uid 65532 keeping the other three
    // (UnprivilegedAgentIT runs that entrypoint); SYS_ADMIN is for setns into containers'
    // network namespaces.
    assertThat(DeployFiles.texts(agent.get("cap_add")))
        .containsExactlyInAnyOrder(
            "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN", "SETUID", "SETGID");
    assertThat(command).containsSequence("--host-root", "/host");
    assertThat(DeployFiles.texts(agent.get("volumes")))
        .contains(
            "/run/netns:/host/run/netns:ro,rslave",
            "/var/lib/docker/containers:/host/var/lib/docker/containers:ro");
    assertThat(DeployFiles.texts(agent.get("security_opt"))).contains("no-new-privileges:true");
    assertThat(agent.path("read_only").asBoolean()).isTrue();
    // Its state (sequence, spool) on a volume, so it survives the container.
    assertThat(DeployFiles.texts(agent.get("volumes")))
        .anySatisfy(v -> assertThat(v).endsWith(":/var/lib/handlewatch-agent"));
    assertThat(command).containsSequence("--state-dir", "/var/lib/handlewatch-agent");
  }

  @Test
  void perContainerTcpHashTablesAreLeftToTheHostsSysctlAndSaidSo() throws Exception {
    // Docker refuses net.* sysctls for a container in the host's network namespace (and they
    // would reach no other container's): the agent's service sets none, and says where instead.
    assertThat(services.get("agent").has("sysctls")).isFalse();
    assertThat(Files.readString(COMPOSE))
        .contains("net.ipv4.tcp_child_ehash_entries")
        .contains("/etc/sysctl.d");
    assertThat(Files.readString(DeployFiles.ROOT.resolve("docs/operations.md")))
        .contains("echo 'net.ipv4.tcp_child_ehash_entries = 16384' > /etc/sysctl.d/")
        .contains("Docker refuses `net.*` sysctls");
  }

  @Test
  void influxdKeepsItsMeasuredDataDefaultsAndTheDocsSayWhy() throws Exception {
    // A WAL fsync delay made every write wait (InfluxDB's p50 1 -> 155 ms at 300 reports/s), a
    // 256m cache snapshot a 27 s restart after a crash, and tsi1 every report wait longer behind
    // InfluxDB in each of four pairs though it restarted faster (BENCHMARKS.md, "InfluxDB settings
    // for this write pattern"): none of influxd's [data] settings is overridden until a
    // measurement says so, and the docs say how to switch the index and convert existing shards.
    assertThat(environment(services.get("influxdb")).keySet())
        .noneSatisfy(k -> assertThat(k).startsWith("INFLUXDB_DATA_"));
    assertThat(services.get("influxdb").path("image").asText()).isEqualTo("influxdb:1.8");
    assertThat(Files.readString(DeployFiles.ROOT.resolve("docs/operations.md")))
        .contains("## InfluxDB's own settings")
        .contains("# wal-fsync-delay = \"0s\"")
        .contains("# cache-snapshot-memory-size = \"25m\"")
        .contains("# index-version = \"inmem\"")
        .contains("INFLUXDB_DATA_INDEX_VERSION: tsi1")
        .contains(
            "influx_inspect buildtsi -datadir /var/lib/influxdb/data -waldir /var/lib/influxdb/wal");
  }

  @Test
  void theAgentImageStartsThroughTheEntrypointThatDropsToItsOwnUser() throws Exception {
    String dockerfile = Files.readString(DeployFiles.DEPLOY.resolve("docker/agent.Dockerfile"));
    assertThat(dockerfile)
        .contains("COPY deploy/docker/agent-entrypoint /usr/local/bin/handlewatch-agent-entrypoint")
        .contains("ENTRYPOINT [\"/usr/local/bin/handlewatch-agent-entrypoint\"]")
        .contains("-o 65532 -g 65532");
  }

  @Test
  void theAgentCommandParses() throws Exception {
    var parsed = AgentCommandCheck.parse(DeployFiles.texts(services.get("agent").get("command")));
    assertThat(parsed.subcommand().matchedOptionValue("--collector", ""))
        .isEqualTo("127.0.0.1:9400");
  }

  @Test
  void theCollectorConfigValidatesWithTheComposeEnvironment() throws Exception {
    JsonNode collector = services.get("collector");
    String mount =
        DeployFiles.texts(collector.get("volumes")).stream()
            .filter(v -> v.endsWith(":/etc/handlewatch/collector.yml:ro"))
            .findFirst()
            .orElseThrow();
    Path config = COMPOSE.getParent().resolve(mount.substring(0, mount.indexOf(':'))).normalize();
    Map<String, String> env = environment(collector);
    CollectorConfiguration c =
        CollectorConfigCheck.validate(config.toString(), Files.readString(config), env);
    assertThat(c.store).isInstanceOf(InfluxStoreFactory.class);
    assertThat(((InfluxStoreFactory) c.store).url).isEqualTo("http://influxdb:8086");
    assertThat(c.ingest.port).isEqualTo(9400);
    assertThat(DeployFiles.texts(collector.get("command")))
        .containsExactly("server", "/etc/handlewatch/collector.yml");
    // Its health check reaches the admin port on the container's loopback.
    assertThat(DeployFiles.texts(collector.path("healthcheck").path("test")))
        .contains("http://127.0.0.1:8081/healthcheck");
  }

  @Test
  void grafanaIsProvisionedFromDashboards() {
    List<String> volumes = DeployFiles.texts(services.get("grafana").get("volumes"));
    assertThat(volumes)
        .contains(
            "../dashboards/provisioning/datasources:/etc/grafana/provisioning/datasources:ro",
            "../dashboards/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro");
    // dashboards/ comes from another part of the project; once it is here, so must these be.
    if (Files.isDirectory(DeployFiles.ROOT.resolve("dashboards"))) {
      assertThat(DeployFiles.ROOT.resolve("dashboards/provisioning/datasources")).isDirectory();
      assertThat(DeployFiles.ROOT.resolve("dashboards/provisioning/dashboards")).isDirectory();
    }
  }

  @Test
  void everyFileItMountsOrBuildsFromExists() {
    List<String> missing = new ArrayList<>();
    services
        .fields()
        .forEachRemaining(
            e -> {
              JsonNode build = e.getValue().get("build");
              if (build != null) {
                Path context =
                    COMPOSE.getParent().resolve(build.get("context").asText()).normalize();
                if (!Files.isRegularFile(context.resolve(build.get("dockerfile").asText()))) {
                  missing.add(e.getKey() + ": " + build);
                }
              }
              for (String v : DeployFiles.texts(e.getValue().path("volumes"))) {
                String source = v.substring(0, v.indexOf(':'));
                // Named volumes, absolute host paths (/proc) and the dashboards another part of the
                // project provides are not files of deploy/.
                if (!source.startsWith("./")) continue;
                if (!Files.exists(COMPOSE.getParent().resolve(source)))
                  missing.add(e.getKey() + ": " + v);
              }
            });
    assertThat(missing).isEmpty();
  }

  static Map<String, String> environment(JsonNode service) {
    Map<String, String> env = new java.util.HashMap<>();
    service
        .path("environment")
        .fields()
        .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
    return env;
  }
}

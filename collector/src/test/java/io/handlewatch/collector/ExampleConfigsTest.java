package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.configuration.DefaultConfigurationFactoryFactory;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.jackson.Jackson;
import io.dropwizard.jersey.validation.Validators;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every example under collector/config loads and validates, as `check` would. */
class ExampleConfigsTest {
  private static final Path CONFIG_DIR = Path.of("config");

  static List<Path> examples() throws Exception {
    try (Stream<Path> files = Files.list(CONFIG_DIR)) {
      return files.filter(p -> p.toString().endsWith(".yml")).sorted().toList();
    }
  }

  static CollectorConfiguration load(Path file) throws Exception {
    // The factory `server` and `check` use: unlike a bare YamlConfigurationFactory, it refuses an
    // unknown key.
    var factory =
        new DefaultConfigurationFactoryFactory<CollectorConfiguration>()
            .create(
                CollectorConfiguration.class,
                Validators.newValidator(),
                Jackson.newObjectMapper(),
                "dw");
    return factory.build(
        new SubstitutingSourceProvider(
            new FileConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(true)),
        file.toString());
  }

  @Test
  void thereAreExamplesForBothStores() throws Exception {
    assertThat(examples())
        .extracting(p -> p.getFileName().toString())
        .contains("quickstart.yml", "influxdb.yml", "secure.yml");
  }

  @Test
  void theSecureExampleTurnsEverythingOn() throws Exception {
    CollectorConfiguration c = load(CONFIG_DIR.resolve("secure.yml"));
    assertThat(c.ingest.tls.clientAuth)
        .isEqualTo(io.handlewatch.collector.ingest.IngestTlsFactory.ClientAuth.OPTIONAL);
    assertThat(c.ingest.auth.mode)
        .isEqualTo(io.handlewatch.collector.ingest.IngestAuthFactory.Mode.MTLS_OR_TOKEN);
    assertThat(c.api.auth.tokens).hasSize(1);
    assertThat(c.api.auth.adminTokens).isEmpty();
  }

  /** A configuration that fails to load, with a message naming each of {@code keys}. */
  private static void refused(Path dir, String yaml, String... keys) throws Exception {
    Path f = Files.createTempFile(dir, "bad", ".yml");
    Files.writeString(f, yaml);
    var thrown = assertThatThrownBy(() -> load(f));
    for (String k : keys) thrown.hasMessageContaining(k);
  }

  @Test
  void inconsistentSecuritySettingsAreReportedByTheirKeys(@TempDir Path dir) throws Exception {
    refused(dir, "ingest:\n  auth:\n    mode: mtls\n", "ingest.auth.mode");
    refused(
        dir,
        "ingest:\n  auth:\n    mode: token\n",
        "ingest.auth.tokensFile",
        "ingest.auth.mode token needs ingest.tls");
    refused(
        dir,
        "ingest:\n  tls:\n    certFile: a\n    keyFile: b\n    clientAuth: require\n",
        "ingest.tls.clientCaFile");
    refused(dir, "api:\n  auth:\n    tokens: [short]\n", "api.auth.tokens");
    refused(dir, "ingest:\n  auth:\n    mode: kerberos\n", "ingest.auth.mode");
    Path plaintextTokens = dir.resolve("plain.yml");
    Files.writeString(
        plaintextTokens,
        "ingest:\n  bindHost: 127.0.0.1\n  auth:\n    mode: token\n    tokensFile: t\n"
            + "    allowPlaintextTokens: true\n");
    assertThat(load(plaintextTokens).ingest.auth.allowPlaintextTokens).isTrue();
  }

  @ParameterizedTest
  @MethodSource("examples")
  void exampleLoadsAndValidates(Path file) throws Exception {
    CollectorConfiguration c = load(file);
    assertThat(c.ingest.port).isEqualTo(9400);
    assertThat(c.store).isNotNull();
    assertThat(c.detection.window.toMinutes()).isEqualTo(30);
  }

  @Test
  void aBadValueIsReportedByItsKey(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(bad, "ingest:\n  port: 70000\n  maxInFlightPerStream: 0\n");
    assertThatThrownBy(() -> load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("ingest.port")
        .hasMessageContaining("ingest.maxInFlightPerStream");
  }

  @Test
  void badDetectionSettingsAreReportedByTheirKeys(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(
        bad,
        "detection:\n  window: 1m\n  processFds:\n    criticalUsedRatio: 1.5\n"
            + "  closeWait:\n    minGrowth: 0\n");
    assertThatThrownBy(() -> load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("detection.window")
        .hasMessageContaining("detection.processFds.criticalUsedRatio")
        .hasMessageContaining("detection.closeWait.minGrowth");
    Path crossed = dir.resolve("crossed.yml");
    Files.writeString(
        crossed,
        "detection:\n  resolution: 10m\n  ports:\n    warningEta: 1m\n"
            + "  clock:\n    warning: 90s\n");
    assertThatThrownBy(() -> load(crossed))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("detection.clock.critical must exceed detection.clock.warning")
        .hasMessageContaining("resolution must be at most a quarter of window")
        .hasMessageContaining("criticalEta must not exceed warningEta");
    Path release = dir.resolve("release.yml");
    Files.writeString(
        release,
        "detection:\n  quietPeriod: 5m\n  releaseAfter: 5m\n  warmUp:\n    concurrency: 0\n");
    assertThatThrownBy(() -> load(release))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("releaseAfter must be shorter than quietPeriod")
        .hasMessageContaining("detection.warmUp.concurrency");
  }

  @Test
  void theQuickstartDocumentsEveryDetectionDefault() throws Exception {
    var documented = load(CONFIG_DIR.resolve("quickstart.yml")).detection;
    var defaults = new io.handlewatch.collector.detect.DetectionFactory();
    var json = io.dropwizard.jackson.Jackson.newObjectMapper();
    com.fasterxml.jackson.databind.JsonNode mine = json.valueToTree(documented);
    com.fasterxml.jackson.databind.JsonNode builtIn = json.valueToTree(defaults);
    assertThat(mine).isEqualTo(builtIn);
  }

  @Test
  void anUnknownStoreTypeIsReportedByItsKey(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(bad, "store:\n  type: cassandra\n");
    assertThatThrownBy(() -> load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("store")
        .hasMessageContaining("cassandra");
  }

  @Test
  void influxV2WithoutItsTokenIsReportedByKey(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(
        bad, "store:\n  type: influxdb\n  url: http://127.0.0.1:8086\n  api: v2\n  token: \"\"\n");
    assertThatThrownBy(() -> load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("store.token");
    Path noUrl = dir.resolve("nourl.yml");
    Files.writeString(noUrl, "store:\n  type: influxdb\n  url: influx:8086\n");
    assertThatThrownBy(() -> load(noUrl))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("store.url");
  }

  @Test
  void theAdminPortIsOnLoopbackByDefault(@TempDir Path dir) throws Exception {
    Path minimal = dir.resolve("minimal.yml");
    Files.writeString(minimal, "store:\n  type: memory\n");
    var server = (io.dropwizard.core.server.DefaultServerFactory) load(minimal).getServerFactory();
    var admin = (io.dropwizard.jetty.HttpConnectorFactory) server.getAdminConnectors().getFirst();
    assertThat(admin.getBindHost()).isEqualTo("127.0.0.1");
    assertThat(admin.getPort()).isEqualTo(8081);
  }

  @Test
  void anUnknownKeyIsRefusedByName(@TempDir Path dir) throws Exception {
    Path typo = dir.resolve("typo.yml");
    Files.writeString(typo, "ingest:\n  prot: 9400\nstore:\n  type: memory\n");
    assertThatThrownBy(() -> load(typo))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("prot");
  }
}

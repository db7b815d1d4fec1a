package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.FileConfigurationSourceProvider;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.configuration.YamlConfigurationFactory;
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
    var factory =
        new YamlConfigurationFactory<>(
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
        .contains("quickstart.yml", "influxdb.yml");
  }

  @ParameterizedTest
  @MethodSource("examples")
  void exampleLoadsAndValidates(Path file) throws Exception {
    CollectorConfiguration c = load(file);
    assertThat(c.ingest.port).isEqualTo(9400);
    assertThat(c.store).isNotNull();
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
}

package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.testing.DropwizardTestSupport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin port (metrics, health checks, thread dumps) stays off the network when a configuration
 * forgets it: a {@code server:} section is a fresh Dropwizard factory whose own default would
 * listen on every interface.
 */
class AdminConnectorTest {
  private static final String APP_ONLY =
      """
      server:
        applicationConnectors:
          - type: http
            port: 0
      """;

  @Test
  void aServerSectionWithOnlyApplicationConnectorsKeepsAdminOnLoopback(@TempDir Path dir)
      throws Exception {
    Path f = dir.resolve("app-only.yml");
    Files.writeString(f, APP_ONLY);
    var server = (DefaultServerFactory) ExampleConfigsTest.load(f).getServerFactory();
    assertThat(server.getAdminConnectors())
        .isNotEmpty()
        .allSatisfy(
            c -> assertThat(((HttpConnectorFactory) c).getBindHost()).isEqualTo("127.0.0.1"));
    // An explicit choice is kept.
    Files.writeString(
        f, APP_ONLY + "  adminConnectors:\n    - type: http\n      bindHost: 0.0.0.0\n");
    server = (DefaultServerFactory) ExampleConfigsTest.load(f).getServerFactory();
    assertThat(((HttpConnectorFactory) server.getAdminConnectors().getFirst()).getBindHost())
        .isEqualTo("0.0.0.0");
  }

  @Test
  void anAdminConnectorWithoutBindHostAnswersOnlyOnLoopback(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("collector.yml");
    Files.writeString(
        f,
        """
        ingest:
          bindHost: 127.0.0.1
          port: 0
        server:
          applicationConnectors:
            - type: http
              port: 0
          adminConnectors:
            - type: http
              port: 0
          requestLog:
            appenders: []
        logging:
          level: WARN
        """);
    var app = new DropwizardTestSupport<>(CollectorApplication.class, f.toString());
    app.before();
    try {
      // 127.0.0.2 is this machine too: a socket bound to every interface answers there, one bound
      // to 127.0.0.1 does not. The application connector (bindHost unset) shows the difference.
      assertThat(connects("127.0.0.2", app.getLocalPort())).as("application port").isTrue();
      assertThat(connects("127.0.0.1", app.getAdminPort())).as("admin on 127.0.0.1").isTrue();
      assertThat(connects("127.0.0.2", app.getAdminPort())).as("admin on 127.0.0.2").isFalse();
    } finally {
      app.after();
    }
  }

  @Test
  void aSimpleServerOffLoopbackIsRefusedSayingWhy(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("simple.yml");
    Files.writeString(f, "server:\n  type: simple\n  connector:\n    type: http\n    port: 0\n");
    assertThatThrownBy(() -> ExampleConfigsTest.load(f))
        .hasMessageContaining("server.type simple serves the admin pages")
        .hasMessageContaining("server.connector.bindHost");
    Files.writeString(
        f,
        "server:\n  type: simple\n  connector:\n    type: http\n    bindHost: 127.0.0.1\n"
            + "    port: 0\n");
    assertThat(ExampleConfigsTest.load(f).isAdminKeptOffTheNetwork()).isTrue();
  }

  private static boolean connects(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 2_000);
      return true;
    } catch (IOException refused) {
      return false;
    }
  }
}

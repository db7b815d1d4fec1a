package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.server.SimpleServerFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.jetty.HttpsConnectorFactory;
import io.handlewatch.collector.notify.AlertmanagerNotifierFactory;
import io.handlewatch.collector.notify.WebhookNotifierFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The top-level {@code externalUrl}: validated at start naming the key, defaulting to the HTTP
 * application connector's address, and what the alerts' links become from it.
 */
class ExternalUrlTest {

  private static DefaultServerFactory server(HttpConnectorFactory connector) {
    DefaultServerFactory s = new DefaultServerFactory();
    s.setApplicationConnectors(List.of(connector));
    return s;
  }

  private static HttpConnectorFactory http(String bindHost, int port) {
    HttpConnectorFactory c = new HttpConnectorFactory();
    c.setBindHost(bindHost);
    c.setPort(port);
    return c;
  }

  @Test
  void theDefaultIsTheHttpConnectorsAddress() {
    assertThat(ExternalUrl.ofServer(server(http("127.0.0.1", 8080)), () -> "unused"))
        .isEqualTo("http://127.0.0.1:8080");
    assertThat(ExternalUrl.ofServer(server(http(null, 8080)), () -> "collector-1"))
        .as("every address bound: the machine's name")
        .isEqualTo("http://collector-1:8080");
    assertThat(ExternalUrl.ofServer(server(http("0.0.0.0", 9000)), () -> "collector-1"))
        .isEqualTo("http://collector-1:9000");
    assertThat(ExternalUrl.ofServer(server(http("::1", 8080)), () -> "unused"))
        .isEqualTo("http://[::1]:8080");

    HttpsConnectorFactory tls = new HttpsConnectorFactory();
    tls.setBindHost("10.1.2.3");
    tls.setPort(8443);
    assertThat(ExternalUrl.ofServer(server(tls), () -> "unused"))
        .isEqualTo("https://10.1.2.3:8443");

    DefaultServerFactory under = server(http("127.0.0.1", 8080));
    under.setApplicationContextPath("/handlewatch/");
    assertThat(ExternalUrl.ofServer(under, () -> "unused"))
        .as("the application's context path")
        .isEqualTo("http://127.0.0.1:8080/handlewatch");

    SimpleServerFactory simple = new SimpleServerFactory();
    simple.setConnector(http("127.0.0.1", 8080));
    assertThat(ExternalUrl.ofServer(simple, () -> "unused"))
        .isEqualTo("http://127.0.0.1:8080/application");
  }

  @Test
  void portZeroIsChosenBeforeTheServerStartsSoTheLinksCanNameIt() throws Exception {
    HttpConnectorFactory c = http("127.0.0.1", 0);
    String url = ExternalUrl.ofServer(server(c), () -> "unused");
    assertThat(c.getPort()).as("the connector now binds the chosen port").isPositive();
    assertThat(url).isEqualTo("http://127.0.0.1:" + c.getPort());
    // Free: what the server will bind.
    try (ServerSocket s = new ServerSocket(c.getPort(), 1, InetAddress.getByName("127.0.0.1"))) {
      assertThat(s.getLocalPort()).isEqualTo(c.getPort());
    }
  }

  @Test
  void withoutAnHttpConnectorTheErrorNamesTheKey() {
    DefaultServerFactory none = new DefaultServerFactory();
    none.setApplicationConnectors(List.of());
    assertThatThrownBy(() -> ExternalUrl.ofServer(none, () -> "unused"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("externalUrl");
  }

  @Test
  void aRelativeRunbookUrlBecomesTheCollectorsOwnCopyAndAnAbsoluteOneIsKept() {
    String ext = "https://handlewatch.example/hw";
    assertThat(ExternalUrl.runbook("RUNBOOK.md", ext))
        .isEqualTo("https://handlewatch.example/hw/runbook");
    assertThat(ExternalUrl.runbook("docs/RUNBOOK.md", ext))
        .isEqualTo("https://handlewatch.example/hw/runbook");
    assertThat(ExternalUrl.runbook("https://git.example/ops/RUNBOOK.md", ext))
        .isEqualTo("https://git.example/ops/RUNBOOK.md");
  }

  @Test
  void aSetValueIsKeptWithoutItsTrailingSlash() {
    assertThat(ExternalUrl.normalise(" https://handlewatch.example/ "))
        .isEqualTo("https://handlewatch.example");
  }

  @Test
  void aBadValueIsRefusedAtStartNamingTheKey(@TempDir Path dir) throws Exception {
    for (String bad :
        List.of(
            "handlewatch.example",
            "ftp://handlewatch.example",
            "https://",
            "https://handlewatch.example/?x=1",
            "https://handlewatch.example/#/")) {
      Path f = dir.resolve("bad.yml");
      Files.writeString(f, "externalUrl: \"" + bad + "\"\n");
      assertThatThrownBy(() -> ExampleConfigsTest.load(f))
          .as(bad)
          .isInstanceOf(ConfigurationException.class)
          .hasMessageContaining("externalUrl must be an absolute http:// or https:// URL");
    }
    Path good = dir.resolve("good.yml");
    Files.writeString(good, "externalUrl: https://handlewatch.example/hw/\n");
    assertThat(ExampleConfigsTest.load(good).externalUrl)
        .isEqualTo("https://handlewatch.example/hw/");
    Files.writeString(good, "store: {type: memory}\n");
    assertThat(ExampleConfigsTest.load(good).externalUrl).as("unset by default").isNull();
    // What ${HANDLEWATCH_EXTERNAL_URL:-} leaves when the variable is not set: the default.
    Files.writeString(good, "externalUrl: \"\"\n");
    assertThat(ExternalUrl.isUnset(ExampleConfigsTest.load(good).externalUrl)).isTrue();
  }

  @Test
  void anAlertmanagerWithoutItsOwnExternalUrlTakesTheCollectors() {
    var unset = new AlertmanagerNotifierFactory();
    unset.defaultExternalUrl("http://collector-1:8080");
    assertThat(unset.externalUrl).isEqualTo("http://collector-1:8080");

    var own = new AlertmanagerNotifierFactory();
    own.externalUrl = "https://handlewatch.example";
    own.defaultExternalUrl("http://collector-1:8080");
    assertThat(own.externalUrl).as("its own setting wins").isEqualTo("https://handlewatch.example");

    var webhook = new WebhookNotifierFactory();
    webhook.defaultExternalUrl("http://collector-1:8080"); // links come from runbook_url: no-op
  }
}

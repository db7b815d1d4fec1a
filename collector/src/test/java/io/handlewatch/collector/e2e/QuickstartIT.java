package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.testing.RealPrograms;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command as a new user runs it: bin/quickstart starts the collector and an
 * agent, and the API lists this host with its TCP counts; stopping the script stops both.
 */
class QuickstartIT {

  private static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void quickstartListsThisHostWithinAnInterval(@TempDir Path dir) throws Exception {
    int httpPort = freePort();
    int grpc = freePort();
    int admin = freePort();
    ProcessBuilder pb =
        new ProcessBuilder(
                "bash", Path.of("../bin/quickstart").toAbsolutePath().normalize().toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("quickstart.out").toFile());
    pb.environment().put("HANDLEWATCH_HTTP_PORT", Integer.toString(httpPort));
    pb.environment().put("HANDLEWATCH_GRPC_PORT", Integer.toString(grpc));
    pb.environment().put("HANDLEWATCH_ADMIN_PORT", Integer.toString(admin));
    pb.environment().put("HANDLEWATCH_INTERVAL", "2s");
    pb.environment().put("HANDLEWATCH_QUICKSTART_DIR", dir.toString());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process quickstart = pb.start();
    try {
      String api = "http://127.0.0.1:" + httpPort + "/api/v1/hosts";
      JsonNode hosts = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (hosts == null || hosts.path("hosts").isEmpty()) {
        assertThat(quickstart.isAlive())
            .as(
                "quickstart still running; its output:\n%s",
                Files.readString(dir.resolve("quickstart.out")))
            .isTrue();
        assertThat(System.nanoTime()).as("a host listed within 120 s").isLessThan(deadline);
        Thread.sleep(250); // polling the API with a deadline
        hosts = RealPrograms.getJson(api);
      }
      JsonNode host = hosts.path("hosts").get(0);
      String name = host.get("host").asText();
      assertThat(host.at("/tcp/listen").asLong())
          .as("this host listens on the quickstart's own ports")
          .isPositive();
      JsonNode one = RealPrograms.getJson(api + "/" + name);
      assertThat(one).isNotNull();
      assertThat(one.at("/sample/host/hostname").asText()).isEqualTo(name);
      assertThat(Files.readString(dir.resolve("quickstart.out")))
          .contains("curl -s localhost:" + httpPort + "/api/v1/hosts");
    } finally {
      quickstart.destroy();
      assertThat(quickstart.waitFor(30, TimeUnit.SECONDS))
          .as("quickstart stops on SIGTERM")
          .isTrue();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (listening(grpc) || listening(httpPort)) {
      assertThat(System.nanoTime())
          .as("collector and agent stopped with the script")
          .isLessThan(deadline);
      Thread.sleep(100); // polling the ports with a deadline
    }
  }
}

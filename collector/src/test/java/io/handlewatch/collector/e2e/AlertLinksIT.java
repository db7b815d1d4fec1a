package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.testing.DetectedFleet;
import io.handlewatch.collector.testing.HeadlessChromium;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.proto.v1.HostReport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The links in a page work outside the collector: a collector with the default detection and no
 * {@code externalUrl} anywhere pages {@link DetectedFleet}'s CLOSE_WAIT leak through a real
 * Alertmanager, and what reaches the pager carries an absolute {@code generatorURL} (the host's
 * view on the fleet page) and an absolute {@code runbook_url} (the runbook the collector serves),
 * both on the HTTP connector's address; both answer 200 from the running collector, and in a real
 * Chromium the first opens the host's view and its alert's runbook link the runbook's section.
 */
class AlertLinksIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient http = HttpClient.newHttpClient();

  @Test
  void thePagersLinksOpenTheHostsViewAndTheRunbookOnTheCollector(@TempDir Path dir)
      throws Exception {
    try (PagingStack stack = PagingStack.memory(dir, "", "")) {
      HttpReceiver pager = stack.receiver();
      CollectorApplication collector = stack.collector();
      String base = "http://127.0.0.1:" + stack.httpPort();
      assertThat(collector.externalUrl())
          .as("unset: the HTTP connector's address, its port chosen before the server bound it")
          .isEqualTo(base);

      Instant end = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      for (Map.Entry<String, List<HostReport>> h : DetectedFleet.reports(end).entrySet()) {
        IngestClient.stream(collector.ingest().port(), h.getValue());
      }
      String host = DetectedFleet.CLOSE_WAIT_HOST;
      JsonNode page =
          await("the CLOSE_WAIT page of " + host + " through Alertmanager")
              .atMost(Duration.ofSeconds(90))
              .until(() -> firing(pager, host, "CloseWaitGrowing"), p -> p != null);

      String generator = page.path("generatorURL").asText();
      String runbook = page.path("annotations").path("runbook_url").asText();
      assertThat(URI.create(generator).isAbsolute()).as(generator).isTrue();
      assertThat(URI.create(runbook).isAbsolute()).as(runbook).isTrue();
      assertThat(generator).isEqualTo(base + "/#/host/" + host);
      assertThat(runbook).isEqualTo(base + "/runbook#close_wait");

      // What a browser fetches for each (the fragment stays in the browser).
      HttpResponse<String> fleetPage = get(withoutFragment(generator));
      assertThat(fleetPage.statusCode()).isEqualTo(200);
      assertThat(fleetPage.body()).contains("<title>handlewatch fleet</title>");
      HttpResponse<String> runbookPage = get(withoutFragment(runbook));
      assertThat(runbookPage.statusCode()).isEqualTo(200);
      assertThat(runbookPage.headers().firstValue("content-type").orElse(""))
          .startsWith("text/html");
      assertThat(runbookPage.body()).contains("<h2 id=\"close_wait\">close_wait</h2>");

      try (HeadlessChromium chromium = HeadlessChromium.start()) {
        WebDriver d = chromium.driver();
        WebDriverWait wait = new WebDriverWait(d, Duration.ofSeconds(45), Duration.ofMillis(100));
        d.get(generator);
        wait.until(
            x ->
                x.findElement(By.id("host-view")).isDisplayed()
                    && host.equals(x.findElement(By.id("host-name")).getText())
                    && x.findElement(By.id("alerts")).getText().contains("CloseWaitGrowing"));
        assertThat(d.findElement(By.id("fleet-view")).isDisplayed()).isFalse();
        chromium.screenshot(Path.of("target", "screenshots", "generator-url.png"));

        // The alert's runbook link, as the host view shows it, opens the kind's section.
        wait.ignoring(StaleElementReferenceException.class)
            .until(
                x -> {
                  x.findElement(By.cssSelector("#alerts a.runbook")).click();
                  return true;
                });
        wait.until(x -> x.getCurrentUrl().equals(runbook));
        String section =
            (String)
                ((JavascriptExecutor) d)
                    .executeScript(
                        "const t = document.querySelector(':target');"
                            + " return t ? t.id + '|' + t.textContent : null;");
        assertThat(section).isEqualTo("close_wait|close_wait");
        assertThat(d.findElement(By.tagName("body")).getText()).contains("CloseWaitGrowing");
        chromium.screenshot(Path.of("target", "screenshots", "runbook.png"));
      }
    }
  }

  /** The first firing alert named {@code alertname} for {@code host} the pager got, or null. */
  private static JsonNode firing(HttpReceiver pager, String host, String alertname)
      throws Exception {
    for (HttpReceiver.Request r : pager.requests()) {
      for (JsonNode a : JSON.readTree(r.body()).path("alerts")) {
        if (a.path("status").asText().equals("firing")
            && a.path("labels").path("host").asText().equals(host)
            && a.path("labels").path("alertname").asText().equals(alertname)) {
          return a;
        }
      }
    }
    return null;
  }

  private static String withoutFragment(String url) {
    int hash = url.indexOf('#');
    return hash < 0 ? url : url.substring(0, hash);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}

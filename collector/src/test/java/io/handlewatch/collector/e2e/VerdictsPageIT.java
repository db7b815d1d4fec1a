package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.DetectedFleet;
import io.handlewatch.collector.testing.HeadlessChromium;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.proto.v1.HostReport;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The fleet page over the real detector, in a real headless Chromium: {@link DetectedFleet}'s
 * verdicts colour the fleet table and give each host its worst ETA and subject; a leaking host's
 * view shows the verdict's evidence (trend, value of limit, window, since), its firing alert with
 * the process, the remote endpoint and a link to its runbook section; the odd host's view shows its
 * findings and where it differs from the fleet. Screenshots go to {@code target/screenshots/}.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class VerdictsPageIT {
  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-memory.yml"));
  static final Path SCREENSHOTS = Path.of("target", "screenshots");
  static HeadlessChromium chromium;

  @BeforeAll
  static void fleet() throws Exception {
    Instant end = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    int port = APP.<CollectorApplication>getApplication().ingest().port();
    Map<String, List<HostReport>> fleet = DetectedFleet.reports(end);
    for (List<HostReport> reports : fleet.values()) IngestClient.stream(port, reports);
    DetectedFleet.awaitJudged(APP.<CollectorApplication>getApplication().detector().view(), end);
    chromium = HeadlessChromium.start();
  }

  @AfterAll
  static void quit() throws Exception {
    if (chromium != null) chromium.close();
  }

  private static String base() {
    return "http://127.0.0.1:" + APP.getLocalPort() + "/";
  }

  private static WebDriverWait waiting(WebDriver d) {
    return new WebDriverWait(d, Duration.ofSeconds(45), Duration.ofMillis(100));
  }

  @SuppressWarnings("unchecked")
  private static <T> T read(WebDriver d, String script) {
    return (T) ((JavascriptExecutor) d).executeScript(script);
  }

  private static void click(WebDriver d, String css) {
    waiting(d)
        .ignoring(StaleElementReferenceException.class)
        .until(
            x -> {
              x.findElement(By.cssSelector(css)).click();
              return true;
            });
  }

  /** A screenshot of the whole page, not just the first screen. */
  private static void fullPage(WebDriver d, String name) throws Exception {
    Dimension before = d.manage().window().getSize();
    Number height = read(d, "return document.documentElement.scrollHeight");
    d.manage().window().setSize(new Dimension(before.getWidth(), height.intValue() + 120));
    chromium.screenshot(SCREENSHOTS.resolve(name));
    d.manage().window().setSize(before);
  }

  private static String text(WebDriver d, String css) {
    return read(
        d, "const e = document.querySelector(\"" + css + "\"); return e ? e.textContent : '';");
  }

  @Test
  void theFleetTheLeakingHostItsRunbookAndTheOddHost() throws Exception {
    WebDriver d = chromium.driver();
    d.get(base());
    waiting(d)
        .until(
            x ->
                ((List<?>)
                            read(
                                x,
                                "return [...document.querySelectorAll('#fleet-table tbody tr[data-host]')]"))
                        .size()
                    == 6);
    List<String> rows =
        read(
            d,
            "return [...document.querySelectorAll('#fleet-table tbody tr[data-host]')]"
                + ".map(r => r.dataset.host + ' ' + r.querySelector('.status').textContent)");
    assertThat(rows.subList(0, 2))
        .as("critical first")
        .containsExactlyInAnyOrder("web-cw critical", "batch-fd critical");
    assertThat(rows.get(2)).isEqualTo("queue-w warning");
    assertThat(rows.subList(3, 6)).allMatch(r -> r.endsWith(" ok"));
    Map<String, String> colours =
        read(
            d,
            """
            const c = (h) => getComputedStyle(
                document.querySelector(`tr[data-host='${h}'] .status`)).backgroundColor;
            return {critical: c('web-cw'), warning: c('queue-w'), ok: c('api-1')};
            """);
    assertThat(colours.values()).as("a colour per status: %s", colours).doesNotHaveDuplicates();
    // The worst ETA and what it is about, in the fleet table.
    assertThat(text(d, "tr[data-host='batch-fd'] td:nth-child(4)"))
        .matches("\\d+ min\\s*process_fds · worker\\[5150\\]");
    assertThat(text(d, "tr[data-host='web-cw'] td:nth-child(10)")).contains("10.0.0.7:6379");
    chromium.screenshot(SCREENSHOTS.resolve("verdicts-fleet.png"));

    // The leaking host: the verdict with its evidence, the alert with process, remote, runbook.
    click(d, "tr[data-host='web-cw'] a");
    waiting(d).until(x -> !text(x, "#verdict-table tr[data-kind='close_wait']").isEmpty());
    String verdict = text(d, "#verdict-table tr[data-kind='close_wait']");
    assertThat(verdict)
        .contains("critical", "java[4121]")
        .containsPattern("\\+(5\\d|6\\d)\\.\\d/min") // about 60 per minute
        .containsPattern("\\d{3},?\\d* / 65,536") // value of limit
        .containsPattern("\\d+ (min|s)") // the window the trend covers
        .containsPattern("\\d\\d:\\d\\d \\(\\d+ min ago\\)") // since, local time and how long ago
        .contains("10.0.0.7:6379");
    String alert = text(d, "li[data-alertname='CloseWaitGrowing']");
    assertThat(alert).contains("critical", "java[4121]", "→ 10.0.0.7:6379", "firing since");
    assertThat(text(d, "#findings")).contains("No findings");
    fullPage(d, "verdicts-host-leak.png");

    // The alert's runbook_url, absolute: the runbook the collector serves, at the kind's section.
    click(d, "li[data-alertname='CloseWaitGrowing'] a.runbook");
    waiting(d).until(x -> x.getCurrentUrl().equals(base() + "runbook#close_wait"));
    waiting(d)
        .until(
            x ->
                "close_wait"
                    .equals(
                        read(
                            x,
                            "const t = document.querySelector(':target'); return t ? t.id : null;")));
    assertThat(d.findElement(By.tagName("body")).getText())
        .contains("CloseWaitGrowing")
        .contains("ss -tanp state close-wait");
    chromium.screenshot(SCREENSHOTS.resolve("verdicts-runbook.png"));

    // The odd host: its findings, and its sysctl marked where it differs from the fleet.
    d.get(base() + "#/host/db-odd");
    waiting(d).until(x -> !text(x, "#finding-table").isEmpty());
    List<String> findings =
        read(
            d,
            "return [...document.querySelectorAll('#finding-table tbody tr')]"
                + ".map(r => r.dataset.finding + ' | ' + r.textContent)");
    assertThat(findings)
        .anySatisfy(
            f -> assertThat(f).startsWith("tcp_tw_recycle").contains("net.ipv4.tcp_tw_recycle"))
        .anySatisfy(f -> assertThat(f).startsWith("sysctl_drift").contains("128").contains("4096"))
        .anySatisfy(f -> assertThat(f).startsWith("low_somaxconn"));
    assertThat(text(d, "#verdicts")).contains("No verdicts");
    String somaxconn = text(d, "#sysctl-table tr[data-sysctl='net.core.somaxconn']");
    assertThat(somaxconn)
        .contains("128", "differs: the fleet has 4096", "low_somaxconn", "sysctl_drift");
    assertThat(
            (String)
                read(
                    d,
                    "return document.querySelector(\"#sysctl-table"
                        + " tr[data-sysctl='net.core.somaxconn'] td.differs\") ? 'marked' : ''"))
        .isEqualTo("marked");
    assertThat(text(d, "#sysctl-table tr[data-sysctl='fs.nr_open']")).contains("same");
    fullPage(d, "verdicts-host-odd.png");
  }
}

package io.handlewatch.collector.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}) driven through
 * {@code /usr/bin/chromedriver}: a fresh profile in a temp directory, nothing fetched from the
 * network, quit and deleted by {@link #close()}. Installs the packages when they are missing and
 * the tests run as root.
 */
public final class HeadlessChromium implements AutoCloseable {
  private static final String CHROMIUM = "/usr/bin/chromium";
  private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

  private final Path profile;
  private final ChromeDriverService service;
  private final ChromeDriver driver;

  private HeadlessChromium(Path profile, ChromeDriverService service, ChromeDriver driver) {
    this.profile = profile;
    this.service = service;
    this.driver = driver;
  }

  public static HeadlessChromium start() throws IOException, InterruptedException {
    installIfMissing();
    Path profile = Files.createTempDirectory("handlewatch-chromium-");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--user-data-dir=" + profile);
    // The console, so a test can see what the Content-Security-Policy refused.
    options.setCapability(
        "goog:loggingPrefs", java.util.Map.of(org.openqa.selenium.logging.LogType.BROWSER, "ALL"));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER))
            .usingAnyFreePort()
            .build();
    return new HeadlessChromium(profile, service, new ChromeDriver(service, options));
  }

  public WebDriver driver() {
    return driver;
  }

  /** Console messages in which the browser says the Content-Security-Policy refused something. */
  public java.util.List<String> contentSecurityPolicyViolations() {
    return driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll().stream()
        .map(org.openqa.selenium.logging.LogEntry::getMessage)
        .filter(m -> m.contains("Content Security Policy"))
        .toList();
  }

  /** Saves what the browser shows as a PNG at {@code file}. */
  public void screenshot(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
  }

  @Override
  public void close() throws IOException {
    try {
      driver.quit();
    } finally {
      service.stop();
      try (Stream<Path> files = Files.walk(profile)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void installIfMissing() throws IOException, InterruptedException {
    if (Files.isExecutable(Path.of(CHROMIUM)) && Files.isExecutable(Path.of(CHROMEDRIVER))) return;
    DebianPackage.install("chromium and chromedriver", "chromium", "chromium-driver");
  }
}

package io.handlewatch.collector.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.DropwizardTestSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * What every paging test stands on: a webhook receiver on loopback, a real Alertmanager routing to
 * it, and the collector in this JVM notifying that Alertmanager, its ports all on loopback. The
 * test writes only the sections it is about; the stack adds the server and logging sections.
 */
public final class PagingStack implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpReceiver receiver;
  private final AlertmanagerHarness alertmanager;
  private DropwizardTestSupport<CollectorConfiguration> app;
  private final Path dir;

  private PagingStack(
      Path dir,
      HttpReceiver receiver,
      AlertmanagerHarness alertmanager,
      DropwizardTestSupport<CollectorConfiguration> app) {
    this.dir = dir;
    this.receiver = receiver;
    this.alertmanager = alertmanager;
    this.app = app;
  }

  /**
   * Detection shortened for a test that must page within minutes: a 2-minute window in 2 s buckets,
   * no history needed before a trend counts, CLOSE_WAIT growth of 15 sockets over 20 s pages, and
   * an alert resolves after 20 quiet seconds. A real fleet keeps the defaults.
   */
  public static final String SHORTENED_DETECTION =
      """
      detection:
        window: 2m
        resolution: 2s
        minHistory: 0s
        quietPeriod: 20s
        releaseAfter: 10s
        closeWait: {minTrend: 20s, minGrowth: 15, minRatePerMinute: 10}
      """;

  /**
   * The collector on its memory store, ingest on a free loopback port, with {@code detection} (a
   * {@code detection:} section, or "" for the defaults), notifying Alertmanager with {@code
   * notifierOptions} (more keys of its notifier, such as {@code resendInterval: 2s}, or "").
   */
  public static PagingStack memory(Path dir, String detection, String notifierOptions)
      throws Exception {
    return start(
        dir,
        am ->
            """
            ingest: {bindHost: 127.0.0.1, port: 0}
            store: {type: memory}
            %s
            notifiers:
              - type: alertmanager
                urls: [%s]
                %s
            """
                .formatted(detection.strip(), am, notifierOptions));
  }

  /**
   * Starts the three. {@code sections} gets Alertmanager's URL and returns the collector's {@code
   * ingest}, {@code store}, {@code detection} and {@code notifiers} sections as YAML; the config
   * file is written to {@code dir}.
   */
  public static PagingStack start(Path dir, Function<String, String> sections) throws Exception {
    HttpReceiver receiver = HttpReceiver.start();
    AlertmanagerHarness am = null;
    try {
      am = AlertmanagerHarness.prepare(receiver.url() + "/").start();
      return new PagingStack(
          dir, receiver, am, collector(dir.resolve("collector.yml"), sections, am));
    } catch (Exception | Error e) {
      if (am != null) am.close();
      receiver.close();
      throw e;
    }
  }

  private static DropwizardTestSupport<CollectorConfiguration> collector(
      Path config, Function<String, String> sections, AlertmanagerHarness am) throws Exception {
    Files.writeString(
        config,
        sections.apply(am.url()).stripTrailing()
            + "\n"
            + """
            server:
              applicationConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
              adminConnectors: [{type: http, bindHost: 127.0.0.1, port: 0}]
              requestLog: {appenders: []}
            logging: {level: WARN, loggers: {io.handlewatch: INFO}}
            """);
    var app =
        new DropwizardTestSupport<CollectorConfiguration>(
            CollectorApplication.class, config.toString());
    app.before();
    return app;
  }

  /**
   * Stops the collector: nothing more is sent for its alerts (no resolve, no release), as after a
   * crash. {@link #startCollector} starts the next one.
   */
  public void stopCollector() {
    app.after();
  }

  /** Starts a new collector with {@code sections}, in front of the same Alertmanager: a restart. */
  public void startCollector(Function<String, String> sections) throws Exception {
    app = collector(dir.resolve("collector-restarted.yml"), sections, alertmanager);
  }

  public CollectorApplication collector() {
    return app.getApplication();
  }

  /** The collector's gRPC ingest port. */
  public int grpcPort() {
    return collector().ingest().port();
  }

  /** The HTTP connector's port: the API, the fleet page, the runbook. */
  public int httpPort() {
    return app.getLocalPort();
  }

  /** {@code http://127.0.0.1:PORT/api}, the REST API's root. */
  public String api() {
    return "http://127.0.0.1:" + httpPort() + "/api";
  }

  public int adminPort() {
    return app.getAdminPort();
  }

  public AlertmanagerHarness alertmanager() {
    return alertmanager;
  }

  /** Where Alertmanager's webhook notifications arrive. */
  public HttpReceiver receiver() {
    return receiver;
  }

  /** Every webhook notification Alertmanager sent, parsed, in arrival order. */
  public List<JsonNode> notifications() {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : receiver.requests()) out.add(parse(q.body()));
    return out;
  }

  /** The notifications whose first alert carries {@code label=value}, in arrival order. */
  public List<JsonNode> notificationsAbout(String label, String value) {
    return notifications().stream()
        .filter(n -> n.at("/alerts/0/labels/" + label).asText().equals(value))
        .toList();
  }

  /** Every alert of every notification that carries {@code label=value}, in arrival order. */
  public List<JsonNode> alertsAbout(String label, String value) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : notifications()) {
      for (JsonNode a : n.path("alerts")) {
        if (a.at("/labels/" + label).asText().equals(value)) out.add(a);
      }
    }
    return out;
  }

  /** How many of {@code notifications} have {@code status} ("firing" or "resolved"). */
  public static long count(List<JsonNode> notifications, String status) {
    return notifications.stream().filter(n -> n.path("status").asText().equals(status)).count();
  }

  /** A receiver's request body as JSON; a body that is not JSON fails the test. */
  public static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      app.after();
    } finally {
      try {
        alertmanager.close();
      } finally {
        receiver.close();
      }
    }
  }
}

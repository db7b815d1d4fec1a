package io.handlewatch.collector;

import com.codahale.metrics.health.HealthCheck;
import io.dropwizard.configuration.EnvironmentVariableSubstitutor;
import io.dropwizard.configuration.SubstitutingSourceProvider;
import io.dropwizard.core.Application;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.api.LiveDetection;
import io.handlewatch.collector.clock.ClockOffsets;
import io.handlewatch.collector.detect.DetectionRunner;
import io.handlewatch.collector.ingest.IngestMetrics;
import io.handlewatch.collector.ingest.IngestServer;
import io.handlewatch.collector.ingest.IngestService;
import io.handlewatch.collector.notify.AlertDispatcher;
import io.handlewatch.collector.notify.NotifierFactory;
import io.handlewatch.collector.security.SecurityHeaders;
import io.handlewatch.collector.store.ListeningStore;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreHealth;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector: {@code handlewatch-collector server CONFIG.yml} runs it, {@code check CONFIG.yml}
 * validates a configuration. Agents stream to the gRPC ingest port; the REST API serves what is
 * stored.
 */
public class CollectorApplication extends Application<CollectorConfiguration> {

  private static final Logger log = LoggerFactory.getLogger(CollectorApplication.class);

  /** Set once started; tests use it to find the ports and the store. */
  private volatile IngestServer ingest;

  private volatile String externalUrl;

  private volatile SampleStore store;
  private volatile IngestMetrics ingestMetrics;
  private volatile DetectionRunner detector;
  private volatile AlertDispatcher alertDispatcher;

  public static void main(String[] args) throws Exception {
    // Dropwizard's own -v prints the version alone; ours adds the commit, as the agent's does.
    if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-v"))) {
      System.out.println("handlewatch-collector " + CollectorBuild.current().describe());
      return;
    }
    new CollectorApplication().run(args);
  }

  @Override
  public String getName() {
    return "handlewatch-collector";
  }

  @Override
  public void initialize(Bootstrap<CollectorConfiguration> bootstrap) {
    // ${VAR:-default} in the YAML; an unset variable without a default is an error, not "".
    bootstrap.setConfigurationSourceProvider(
        new SubstitutingSourceProvider(
            bootstrap.getConfigurationSourceProvider(), new EnvironmentVariableSubstitutor(true)));
    bootstrap.addCommand(new ReplayCommand());
  }

  @Override
  public void run(CollectorConfiguration config, Environment env) {
    // Links are absolute, since alerts are read outside the collector; settled before the
    // detector and the notifiers are built, since both put them into every alert.
    String external =
        !ExternalUrl.isUnset(config.externalUrl)
            ? ExternalUrl.normalise(config.externalUrl)
            : ExternalUrl.ofServer(config.getServerFactory(), ExternalUrl::hostname);
    config.detection.runbookUrl = ExternalUrl.runbook(config.detection.runbookUrl, external);
    for (NotifierFactory n : config.notifiers) n.defaultExternalUrl(external);
    log.info(
        "collector {}: externalUrl {} (fleet page), runbook_url {}#KIND",
        CollectorBuild.current().describe(),
        external,
        config.detection.runbookUrl);
    this.externalUrl = external;

    SampleStore store = config.store.build(env.metrics());
    env.lifecycle()
        .manage(
            new Managed() {
              @Override
              public void stop() {
                store.close();
              }
            });
    // Pages: built before the detector so it starts first and stops last; the detector hands it
    // each alert transition on the detector thread, and it only queues.
    AlertDispatcher alertDispatcher = AlertDispatcher.build(config.notifiers, env);
    // Detection sees each report once the store holds it; its queue never blocks ingest.
    DetectionRunner detector =
        new DetectionRunner(
            config.detection,
            store,
            env.metrics(),
            java.time.Clock.systemUTC(),
            config.ingest.admissionShare(store));
    detector.addAlertListener(alertDispatcher);
    detector.addWarmUpListener(alertDispatcher);
    detector.addAlertListener(new AlertAnnotations(store));
    env.lifecycle().manage(detector);
    env.healthChecks().register("detection", detector.healthCheck());
    IngestMetrics metrics = new IngestMetrics(env.metrics());
    ClockOffsets clocks = IngestService.clockOffsets(config.ingest.limits);
    IngestServer ingest = config.ingest.build(new ListeningStore(store, detector), metrics, clocks);
    env.lifecycle().manage(ingest);

    env.healthChecks()
        .register(
            "store",
            new HealthCheck() {
              @Override
              protected Result check() {
                StoreHealth h = store.check();
                return h.healthy() ? Result.healthy(h.message()) : Result.unhealthy(h.message());
              }
            });
    env.healthChecks()
        .register(
            "ingest",
            new HealthCheck() {
              @Override
              protected Result check() {
                String state =
                    "port "
                        + ingest.port()
                        + ", "
                        + metrics.connectedAgents()
                        + " agents connected, "
                        + metrics.unackedReports()
                        + " reports unacknowledged, "
                        + metrics.tlsRefusedCount()
                        + " TLS handshakes refused"
                        + (metrics.lastTlsRefusal() == null
                            ? ""
                            : " (last: " + metrics.lastTlsRefusal() + ")")
                        + ", "
                        + (metrics.connectionsRefused("total")
                            + metrics.connectionsRefused("per_peer"))
                        + " connections refused at the caps";
                return ingest.isRunning()
                    ? Result.healthy(state)
                    : Result.unhealthy("stopped; " + state);
              }
            });

    config.api.register(env, store, new LiveDetection(detector.view()), Clock.systemUTC(), clocks);
    config.api.auth.register(env);
    SecurityHeaders.register(env);
    PrometheusEndpoint.register(env);
    LatencyHistograms.register(env);
    this.store = store;
    this.ingest = ingest;
    this.ingestMetrics = metrics;
    this.detector = detector;
    this.alertDispatcher = alertDispatcher;
  }

  /** The collector's address as users reach it, as settled at start (the links build on it). */
  public String externalUrl() {
    return externalUrl;
  }

  public IngestServer ingest() {
    return ingest;
  }

  public SampleStore store() {
    return store;
  }

  public IngestMetrics ingestMetrics() {
    return ingestMetrics;
  }

  /** The detector: its view() is the read side of verdicts, alerts, findings and drift. */
  public DetectionRunner detector() {
    return detector;
  }

  /** Takes alert transitions (a {@code Consumer<Alert>}) and pages the configured notifiers. */
  public AlertDispatcher alertDispatcher() {
    return alertDispatcher;
  }
}

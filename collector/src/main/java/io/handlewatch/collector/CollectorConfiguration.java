package io.handlewatch.collector;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.core.Configuration;
import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.server.ServerFactory;
import io.dropwizard.core.server.SimpleServerFactory;
import io.dropwizard.jetty.ConnectorFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.validation.ValidationMethod;
import io.handlewatch.collector.api.ApiFactory;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.ingest.IngestServerFactory;
import io.handlewatch.collector.notify.NotifierFactory;
import io.handlewatch.collector.store.StoreFactory;
import io.handlewatch.collector.store.memory.MemoryStoreFactory;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * The collector's configuration: Dropwizard's {@code server}, {@code logging} and {@code metrics}
 * sections, plus {@code ingest} (the gRPC port agents stream to) and {@code store} (where samples
 * go, {@code type: memory} or {@code type: influxdb}). Examples live in {@code collector/config/}.
 */
public class CollectorConfiguration extends Configuration {
  @Valid @NotNull @JsonProperty public IngestServerFactory ingest = new IngestServerFactory();

  @Valid @NotNull @JsonProperty public StoreFactory store = new MemoryStoreFactory();

  /** Trends, thresholds and alert hysteresis of the detector. */
  @Valid @NotNull @JsonProperty public DetectionFactory detection = new DetectionFactory();

  /** The REST API: staleness and the bounds of its answers (every key has a default). */
  @Valid @NotNull @JsonProperty public ApiFactory api = new ApiFactory();

  /**
   * Where alerts page: {@code type: alertmanager} and/or {@code type: webhook} entries. Empty (the
   * default) pages nobody; the detector still runs and its alerts are kept.
   */
  @Valid @NotNull @JsonProperty public List<NotifierFactory> notifiers = List.of();

  /**
   * The collector's address as users reach it (through a proxy, a DNS name), e.g. {@code
   * https://handlewatch.example}: alerts leave the collector, so their links are absolute and built
   * on it. {@code generatorURL} opens the host's view on the fleet page, and {@code runbook_url}
   * the collector's own {@code /runbook} unless {@code detection.runbookUrl} is absolute. Unset or
   * empty: the first HTTP application connector's address, {@code http://BINDHOST:PORT} (this
   * machine's name when it binds every address).
   */
  @JsonProperty public String externalUrl;

  // A getter named after its key (ignored by Jackson), so the error reads "externalUrl must ...".
  @JsonIgnore
  @AssertTrue(
      message =
          "must be an absolute http:// or https:// URL with a host and no query or fragment,"
              + " e.g. https://handlewatch.example")
  public boolean isExternalUrl() {
    return ExternalUrl.isValid(externalUrl);
  }

  public CollectorConfiguration() {
    // Admin (metrics, health checks, tasks) on loopback unless the configuration says otherwise.
    HttpConnectorFactory admin = new HttpConnectorFactory();
    admin.setBindHost("127.0.0.1");
    admin.setPort(8081);
    ((DefaultServerFactory) getServerFactory()).setAdminConnectors(List.of(admin));
  }

  /**
   * A {@code server:} section in the YAML is a fresh factory, built without the constructor's
   * loopback admin connector: Dropwizard's own default binds it to every interface. So every admin
   * connector whose {@code bindHost} is unset is put on loopback here; one that names a host keeps
   * it (an explicit choice).
   */
  @Override
  @JsonProperty("server")
  public void setServerFactory(ServerFactory factory) {
    if (factory instanceof DefaultServerFactory d) {
      for (ConnectorFactory c : d.getAdminConnectors()) {
        if (c instanceof HttpConnectorFactory http && http.getBindHost() == null) {
          http.setBindHost("127.0.0.1");
        }
      }
    }
    super.setServerFactory(factory);
  }

  @ValidationMethod(
      message =
          "server.type simple serves the admin pages (metrics, health checks, threads) on"
              + " server.connector, which has no loopback bindHost: set server.connector.bindHost"
              + " to 127.0.0.1, or use the default server type, whose admin connector stays on"
              + " loopback")
  @JsonIgnore
  public boolean isAdminKeptOffTheNetwork() {
    if (!(getServerFactory() instanceof SimpleServerFactory simple)) return true;
    return simple.getConnector() instanceof HttpConnectorFactory http
        && http.getBindHost() != null
        && isLoopback(http.getBindHost());
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }
}

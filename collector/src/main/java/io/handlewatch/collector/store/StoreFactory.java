package io.handlewatch.collector.store;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dropwizard.jackson.Discoverable;

/**
 * The {@code store:} section of the collector's configuration. Its {@code type} key picks the
 * backend ({@code memory} or {@code influxdb}); each backend declares its own settings in its
 * factory, validated at start-up.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public interface StoreFactory extends Discoverable {

  /**
   * Builds the store; it connects lazily or in the background, so a collector starts even while its
   * database is down (the store health check says so). The caller closes it.
   */
  SampleStore build(MetricRegistry metrics);
}

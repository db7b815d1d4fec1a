package io.handlewatch.collector.store.memory;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.DataSizeUnit;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreFactory;
import jakarta.validation.constraints.NotNull;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * {@code store: {type: memory}}: the embedded default. Keep {@code maxMemory} well below the
 * collector's heap (-Xmx): the cap counts the samples, not the JVM's own needs.
 */
@JsonTypeName("memory")
public class MemoryStoreFactory implements StoreFactory {
  /** How long a host's samples are kept. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.MINUTES)
  @JsonProperty
  public Duration retention = Duration.hours(6);

  /** Total memory for samples; the oldest fleet-wide are evicted to stay under it. */
  @NotNull
  @MinDataSize(value = 1, unit = DataSizeUnit.MEBIBYTES)
  @JsonProperty
  public DataSize maxMemory = DataSize.mebibytes(512);

  @Override
  public SampleStore build(MetricRegistry metrics) {
    return new MemoryStore(
        maxMemory.toBytes(),
        java.time.Duration.ofMillis(retention.toMilliseconds()),
        Clock.systemUTC(),
        metrics);
  }
}

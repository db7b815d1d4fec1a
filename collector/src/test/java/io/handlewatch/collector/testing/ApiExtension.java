package io.handlewatch.collector.testing;

import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.api.ApiFactory;
import io.handlewatch.collector.api.DetectionSource;
import io.handlewatch.collector.store.SampleStore;
import java.time.Clock;

/** The API's resources, as the collector registers them, in Jersey's in-memory test container. */
public final class ApiExtension {
  private ApiExtension() {}

  /** Paths are relative to Jersey's root: {@code /v1/hosts} is the collector's /api/v1/hosts. */
  public static ResourceExtension over(SampleStore store, DetectionSource detection, Clock clock) {
    var b = ResourceExtension.builder();
    for (Object r : new ApiFactory().resources(store, detection, clock)) b.addResource(r);
    return b.build();
  }
}

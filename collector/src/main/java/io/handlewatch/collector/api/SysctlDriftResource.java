package io.handlewatch.collector.api;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.Comparator;
import java.util.List;

/**
 * {@code /api/v1/sysctl-drift}: per sysctl, the fleet majority value and the hosts that differ,
 * sysctls with the most differing hosts first; {@code name=} narrows to one sysctl.
 */
@Path("/v1/sysctl-drift")
@Produces(MediaType.APPLICATION_JSON)
public final class SysctlDriftResource {
  private final DetectionSource detection;

  public SysctlDriftResource(DetectionSource detection) {
    this.detection = detection;
  }

  /** The answer. */
  public record Drift(List<SysctlDrift> sysctls) {}

  @GET
  public Drift drift(@QueryParam("name") String name) {
    return new Drift(
        detection.sysctlDrift().stream()
            .filter(d -> name == null || name.isBlank() || d.name().equals(name.strip()))
            .sorted(
                Comparator.comparing((SysctlDrift d) -> -d.differing().size())
                    .thenComparing(SysctlDrift::name))
            .toList());
  }
}

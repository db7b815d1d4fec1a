package io.handlewatch.collector.api;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.Comparator;
import java.util.List;

/**
 * {@code /api/v1/alerts}: alerts firing now, fleet-wide, optionally for one host, Kubernetes
 * namespace, pod, systemd unit or host label.
 */
@Path("/v1/alerts")
@Produces(MediaType.APPLICATION_JSON)
public final class AlertsResource {
  private final DetectionSource detection;

  public AlertsResource(DetectionSource detection) {
    this.detection = detection;
  }

  /** The answer: the alerts, oldest incident first. */
  public record Alerts(int total, List<AlertView> alerts) {}

  @GET
  public Alerts alerts(
      @QueryParam("host") String host,
      @QueryParam("namespace") String namespace,
      @QueryParam("pod") String pod,
      @QueryParam("unit") String unit,
      @QueryParam("label") List<String> label) {
    OwnerFilter owners = OwnerFilter.parse(namespace, pod, unit, label);
    List<AlertView> alerts =
        detection.activeAlerts().stream()
            .filter(a -> host == null || host.isBlank() || host.equals(a.host()))
            .filter(owners::matches)
            .map(AlertView::of)
            .sorted(Comparator.comparing(AlertView::startsAt).thenComparing(AlertView::dedupKey))
            .toList();
    return new Alerts(alerts.size(), alerts);
  }
}

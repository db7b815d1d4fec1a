package io.handlewatch.collector.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.Sysctl;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code /api/v1/hosts}: the fleet, sortable, filterable and paged; {@code /api/v1/hosts/{host}}:
 * one host in full.
 */
@Path("/v1/hosts")
@Produces(MediaType.APPLICATION_JSON)
public final class HostsResource {
  private static final ObjectMapper mapper = new ObjectMapper();
  private static final JsonFormat.Printer printer =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();

  private final SampleStore store;
  private final HostSummaries summaries;
  private final DetectionSource detection;
  private final int maxPageSize;

  public HostsResource(
      SampleStore store, HostSummaries summaries, DetectionSource detection, int maxPageSize) {
    this.store = store;
    this.summaries = summaries;
    this.detection = detection;
    this.maxPageSize = maxPageSize;
  }

  @GET
  public Fleet hosts(
      @QueryParam("sort") String sort,
      @QueryParam("order") String order,
      @QueryParam("status") List<String> status,
      @QueryParam("q") String q,
      @QueryParam("limit") String limit,
      @QueryParam("offset") String offset,
      @QueryParam("namespace") String namespace,
      @QueryParam("pod") String pod,
      @QueryParam("unit") String unit,
      @QueryParam("label") List<String> label) {
    FleetQuery query = FleetQuery.parse(sort, order, status, q, limit, offset, maxPageSize);
    OwnerFilter owners = OwnerFilter.parse(namespace, pod, unit, label);
    return query.apply(summaries.all(owners));
  }

  @GET
  @Path("/{host}")
  public HostDetail host(@PathParam("host") String host) {
    HostReport r = store.latest(host).orElseThrow(() -> ApiException.unknownHost(host));
    HostSample s = r.getSample();
    HostSummary summary = summaries.of(r);
    List<SysctlFinding> findings = detection.sysctlFindings(host);
    List<VerdictView> verdicts =
        detection.verdicts(host).stream()
            .sorted(
                Comparator.comparing(VerdictView::severity)
                    .reversed()
                    .thenComparing(
                        VerdictView::etaSeconds, Comparator.nullsLast(Comparator.naturalOrder())))
            .toList();
    List<AlertView> alerts =
        detection.activeAlerts().stream()
            .filter(a -> host.equals(a.host()))
            .map(AlertView::of)
            .toList();
    return new HostDetail(
        summary,
        s.getProcessesList().stream()
            .sorted(
                Comparator.comparing(
                    (ProcessSample p) -> p.hasUsedRatio() ? p.getUsedRatio() : null,
                    Comparator.nullsLast(Comparator.reverseOrder())))
            .map(HostsResource::process)
            .toList(),
        s.hasPortPressure() ? portPressure(s) : null,
        sysctls(host, s.getSysctlsList(), findings),
        verdicts,
        alerts,
        findings,
        s.hasProcessWalk() ? json(s.getProcessWalk(), host) : null,
        OwnerGroups.of(s),
        OwnerGroups.namespaces(s),
        KernelTables.of(host, s, verdicts),
        json(s, host));
  }

  private static HostDetail.ProcessView process(ProcessSample p) {
    String selected = p.getSelectedBy().name().replace("SELECTED_BY_", "").toLowerCase(Locale.ROOT);
    return new HostDetail.ProcessView(
        Integer.toUnsignedLong(p.getPid()),
        p.getComm(),
        p.hasCmdline() ? p.getCmdline() : null,
        p.hasFds() ? p.getFds() : null,
        p.hasSoftLimit() ? p.getSoftLimit() : null,
        p.hasHardLimit() ? p.getHardLimit() : null,
        p.hasUsedRatio() ? HostSummaries.percent(p.getUsedRatio()) : null,
        selected.equals("unspecified") ? null : selected,
        p.hasSockets() ? ReportPoints.tcpFields(p.getSockets()) : null,
        p.getCloseWaitPeersList().stream()
            .map(e -> new HostDetail.Peer(e.getEndpoint(), e.getCount()))
            .toList(),
        p.hasIdentity() ? OwnerGroups.owner(p.getIdentity()) : null);
  }

  private static HostDetail.PortPressureView portPressure(HostSample s) {
    var pp = s.getPortPressure();
    Integer size = pp.hasRangeSize() ? pp.getRangeSize() : null;
    return new HostDetail.PortPressureView(
        pp.hasRangeLow() ? pp.getRangeLow() : null,
        pp.hasRangeHigh() ? pp.getRangeHigh() : null,
        size,
        pp.getTopList().stream()
            .map(
                (PortPressureEntry e) ->
                    new HostDetail.PortUse(
                        e.getRemote(),
                        e.getInUse(),
                        e.getTimeWait(),
                        size == null || size == 0
                            ? null
                            : HostSummaries.percent((double) e.getInUse() / size)))
            .toList());
  }

  private List<HostDetail.SysctlView> sysctls(
      String host, List<Sysctl> sysctls, List<SysctlFinding> findings) {
    Map<String, String> majorityWhereDiffering = new HashMap<>();
    for (SysctlDrift d : detection.sysctlDrift()) {
      for (SysctlDrift.HostValue hv : d.differing()) {
        if (hv.host().equals(host)) majorityWhereDiffering.put(d.name(), d.majorityValue());
      }
    }
    return sysctls.stream()
        .sorted(Comparator.comparing(Sysctl::getName))
        .map(
            sc ->
                new HostDetail.SysctlView(
                    sc.getName(),
                    sc.getValue(),
                    findings.stream().filter(f -> f.name().equals(sc.getName())).toList(),
                    majorityWhereDiffering.get(sc.getName())))
        .toList();
  }

  private static JsonNode json(MessageOrBuilder m, String host) {
    try {
      return mapper.readTree(printer.print(m));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("sample of " + host + " cannot be printed as JSON", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

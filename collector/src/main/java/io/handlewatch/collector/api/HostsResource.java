package io.handlewatch.collector.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Comparator;

/**
 * {@code /api/v1/hosts}: the hosts the collector knows with their latest TCP counts and fd usage,
 * and {@code /api/v1/hosts/{host}}: a host's latest sample. (Sorting, paging, verdicts and history
 * come with the drilldown API.)
 */
@Path("/api/v1/hosts")
@Produces(MediaType.APPLICATION_JSON)
public final class HostsResource {
  private static final JsonNodeFactory json = JsonNodeFactory.instance;
  private static final ObjectMapper mapper = new ObjectMapper();
  private static final JsonFormat.Printer printer =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();

  private final SampleStore store;

  public HostsResource(SampleStore store) {
    this.store = store;
  }

  @GET
  public JsonNode hosts() {
    ObjectNode out = json.objectNode();
    var list = out.putArray("hosts");
    for (HostReport r : store.latestPerHost()) {
      list.add(summary(r));
    }
    return out;
  }

  @GET
  @Path("/{host}")
  public JsonNode host(@PathParam("host") String host) {
    HostReport r =
        store
            .latest(host)
            .orElseThrow(
                () -> new WebApplicationException("no reports from host " + host + " yet", 404));
    ObjectNode out = summary(r);
    try {
      out.set("sample", mapper.readTree(printer.print(r.getSample())));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("sample of " + host + " cannot be printed as JSON", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static ObjectNode summary(HostReport r) {
    HostSample s = r.getSample();
    ObjectNode h = json.objectNode();
    h.put("host", ReportPoints.hostOf(r));
    h.put("last_sample", ReportPoints.timeOf(r).toString());
    h.put("seq", r.getSeq());
    if (s.hasTcp() && s.getTcp().hasTotal()) {
      var t = s.getTcp().getTotal();
      ObjectNode tcp = h.putObject("tcp");
      tcp.put("established", t.getEstablished());
      tcp.put("syn_sent", t.getSynSent());
      tcp.put("syn_recv", t.getSynRecv());
      tcp.put("fin_wait1", t.getFinWait1());
      tcp.put("fin_wait2", t.getFinWait2());
      tcp.put("time_wait", t.getTimeWait());
      tcp.put("close", t.getClose());
      tcp.put("close_wait", t.getCloseWait());
      tcp.put("last_ack", t.getLastAck());
      tcp.put("listen", t.getListen());
      tcp.put("closing", t.getClosing());
    }
    if (s.hasFileHandles()) {
      var f = s.getFileHandles();
      ObjectNode fd = h.putObject("fd");
      if (f.hasAllocated()) fd.put("allocated", f.getAllocated());
      if (f.hasMax()) fd.put("max", f.getMax());
      if (f.hasUsedRatio()) fd.put("used_ratio", f.getUsedRatio());
    }
    s.getProcessesList().stream()
        .filter(ProcessSample::hasUsedRatio)
        .max(Comparator.comparingDouble(ProcessSample::getUsedRatio))
        .ifPresent(
            p -> {
              ObjectNode top = h.putObject("top_process");
              top.put("pid", p.getPid());
              top.put("comm", p.getComm());
              if (p.hasFds()) top.put("fds", p.getFds());
              if (p.hasSoftLimit()) top.put("soft_limit", p.getSoftLimit());
              top.put("used_ratio", p.getUsedRatio());
            });
    return h;
  }
}

package io.handlewatch.collector.e2e;

import static io.handlewatch.collector.testing.RealPrograms.await;
import static io.handlewatch.collector.testing.RealPrograms.freePort;
import static io.handlewatch.collector.testing.RealPrograms.gaps;
import static io.handlewatch.collector.testing.RealPrograms.storedSeqs;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.NetworkNamespace;
import io.handlewatch.collector.testing.RealPrograms;
import io.handlewatch.collector.testing.RealPrograms.AgentStop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent in a network namespace of its own, joined to the collector by a veth pair; the link is
 * cut three ways in turn: taken down, its packets dropped, its packets rejected. Nothing tells the
 * agent the connection is gone (no FIN, no RST reaches it): each time its keepalive settings must
 * notice, and once the link is back it reconnects and replays from its spool. Afterwards InfluxDB
 * holds every report the agent took.
 */
class NetworkCutIT {
  private static final String DB = "netcut";
  private static final String HOST = "netcut-host";

  @TempDir Path dir;
  private InfluxdHarness influxd;
  private NetworkNamespace ns;
  private RealPrograms programs;

  @AfterEach
  void cleanUp() throws Exception {
    if (programs != null) programs.close();
    if (ns != null) ns.close();
    if (influxd != null) influxd.close();
  }

  @Test
  void aCutLinkIsNoticedByKeepaliveAndNothingIsLost() throws Exception {
    influxd = InfluxdHarness.start();
    ns = NetworkNamespace.create();
    programs = new RealPrograms(dir);
    int grpc = freePort();
    int admin = freePort();
    Path config = dir.resolve("collector.yml");
    RealPrograms.writeCollectorConfig(
        config,
        "{bindHost: \"%s\", port: %d, permitKeepAliveTime: 5s}".formatted(ns.hostAddress(), grpc),
        "{type: influxdb, url: \"%s\", database: %s, flushInterval: 20ms}"
            .formatted(influxd.url(), DB),
        freePort(),
        admin);
    programs.collector(config);
    await("collector healthy", Duration.ofSeconds(60), () -> RealPrograms.healthy(admin));

    String[] agentArgs = {
      "--collector",
      ns.hostAddress() + ":" + grpc,
      "--interval",
      "250ms",
      "--host",
      HOST,
      "--tcp-only",
      "--keepalive-time",
      "10s",
      "--keepalive-timeout",
      "2s",
      "--state-dir",
      dir.resolve("agent-state").toString()
    };
    Process agent = programs.agent(ns.exec(), agentArgs);
    await("10 reports stored", Duration.ofSeconds(60), () -> stored().size() >= 10);

    for (String fault : List.of("link down", "DROP", "REJECT")) {
      int disconnects = programs.count("agent", "disconnected from");
      int connects = programs.count("agent", "connected to ");
      switch (fault) {
        case "link down" -> ns.link(false);
        default -> ns.firewall(fault);
      }
      // With reports in flight, TCP_USER_TIMEOUT (gRPC sets it to the keepalive timeout, 2 s
      // here) ends the connection; on an idle one the keepalive ping does after 10 + 2 s. TCP
      // alone would retransmit for about a quarter of an hour, and the default timeout (10 s)
      // would take longer than the bound below: it shows --keepalive-timeout is applied.
      long cutAt = System.nanoTime();
      await(
          "the agent to notice '" + fault + "'",
          Duration.ofSeconds(30),
          () -> programs.count("agent", "disconnected from") > disconnects);
      Duration noticed = Duration.ofNanos(System.nanoTime() - cutAt);
      assertThat(noticed)
          .as("time to notice '%s' with a 2 s keepalive timeout", fault)
          .isLessThan(Duration.ofSeconds(8));
      System.out.printf("NetworkCutIT: '%s' noticed after %d ms%n", fault, noticed.toMillis());
      long storedBeforeRepair = stored().getLast();
      switch (fault) {
        case "link down" -> ns.link(true);
        default -> ns.clearFirewall();
      }
      await(
          "the agent to reconnect after '" + fault + "'",
          Duration.ofSeconds(60),
          () -> programs.count("agent", "connected to ") > connects);
      // What was taken while the link was cut arrives (replayed from the spool), and more after.
      await(
          "reports taken during '" + fault + "' to arrive",
          Duration.ofSeconds(60),
          () -> {
            List<Long> s = stored();
            return s.getLast() > storedBeforeRepair + 20 && gaps(s, s.getLast()).isEmpty();
          });
    }
    assertThat(programs.log("agent"))
        .as("nothing worse than a disconnect")
        .doesNotContain("SEVERE");

    AgentStop stop =
        programs.stopAndDrain(
            agent, ns.exec(), agentArgs, st -> gaps(stored(), st.lastSeq()).isEmpty());
    List<Long> seqs = stored();
    assertThat(gaps(seqs, stop.lastSeq()))
        .as("every report the agent took, 1..%d, is in InfluxDB", stop.lastSeq())
        .isEmpty();
    assertThat(
            Pattern.compile("disconnected from .*; [1-9][0-9]* reports unacknowledged")
                .matcher(programs.log("agent"))
                .results()
                .count())
        .as("cuts that left reports to replay")
        .isGreaterThanOrEqualTo(3);
  }

  private List<Long> stored() {
    List<Long> s = storedSeqs(influxd, DB, HOST);
    return s.isEmpty() ? List.of(0L) : s;
  }
}

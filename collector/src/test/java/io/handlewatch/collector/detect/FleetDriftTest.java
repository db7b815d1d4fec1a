package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class FleetDriftTest {
  final FleetDrift drift = new FleetDrift(new DetectionFactory.Drift().build());

  @Test
  void aHostThatDiffersFromTheMajorityIsNamed() {
    drift.update("a", Map.of("net.core.somaxconn", "4096", "fs.file-max", "100"));
    drift.update("b", Map.of("net.core.somaxconn", "4096", "fs.file-max", "200"));
    drift.update("c", Map.of("net.core.somaxconn", "128", "fs.file-max", "300"));

    assertThat(drift.all())
        .containsExactly(
            new FleetDrift.SysctlDrift("net.core.somaxconn", "4096", 2, 3, Map.of("c", "128")));
    assertThat(drift.of("c")).containsOnlyKeys("net.core.somaxconn");
    assertThat(drift.of("a")).isEmpty();
  }

  @Test
  void noMajorityNoDrift() {
    drift.update("a", Map.of("net.ipv4.tcp_tw_reuse", "1"));
    drift.update("b", Map.of("net.ipv4.tcp_tw_reuse", "2"));
    drift.update("c", Map.of("net.ipv4.tcp_tw_reuse", "0"));
    drift.update("d", Map.of("net.ipv4.tcp_tw_reuse", "2"));
    assertThat(drift.all()).isEmpty(); // 2 of 4 is not more than half
  }

  @Test
  void tooFewHostsNoDrift() {
    drift.update("a", Map.of("net.core.somaxconn", "4096"));
    drift.update("b", Map.of("net.core.somaxconn", "128"));
    assertThat(drift.all()).isEmpty();
  }

  @Test
  void aChangedOrRemovedHostIsRecounted() {
    drift.update("a", Map.of("net.core.somaxconn", "4096"));
    drift.update("b", Map.of("net.core.somaxconn", "4096"));
    drift.update("c", Map.of("net.core.somaxconn", "128"));
    drift.update("c", Map.of("net.core.somaxconn", "4096"));
    assertThat(drift.all()).isEmpty();
    drift.update("d", Map.of("net.core.somaxconn", "128"));
    assertThat(drift.all()).hasSize(1);
    drift.remove("d");
    assertThat(drift.all()).isEmpty();
  }
}

package io.handlewatch.collector.api;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Objects;

/**
 * One sysctl across the fleet: the value most hosts have, and the hosts that differ from it.
 *
 * @param name the sysctl
 * @param majorityValue the value most reporting hosts have
 * @param hostsWithMajority how many hosts have it
 * @param hostsReporting how many hosts reported this sysctl at all
 * @param differing the hosts with another value, and that value
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record SysctlDrift(
    String name,
    String majorityValue,
    int hostsWithMajority,
    int hostsReporting,
    List<HostValue> differing) {
  public SysctlDrift {
    Objects.requireNonNull(name, "name");
    differing = List.copyOf(differing);
  }

  /** A host's value of the sysctl. */
  public record HostValue(String host, String value) {}
}

package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.Objects;

/**
 * An informational finding about one sysctl of one host (no page).
 *
 * @param host the host
 * @param name the sysctl, e.g. {@code net.ipv4.tcp_tw_recycle}
 * @param value its value on the host
 * @param finding a stable code, e.g. {@code tw_recycle_set}, {@code narrow_port_range}
 * @param message what is wrong and why it matters, for people
 * @param recommended the value to prefer, when there is one
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SysctlFinding(
    String host, String name, String value, String finding, String message, String recommended) {
  public SysctlFinding {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(finding, "finding");
  }
}

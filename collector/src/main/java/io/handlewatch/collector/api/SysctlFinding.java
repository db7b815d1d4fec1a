package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.Objects;

/**
 * An informational finding about one setting of one host (no page): a sysctl, or a process's soft
 * RLIMIT_NOFILE.
 *
 * @param host the host
 * @param name the setting: a sysctl (e.g. {@code net.ipv4.tcp_tw_recycle}), or {@code
 *     RLIMIT_NOFILE} for a process's soft nofile limit
 * @param subject what the finding is about: the sysctl itself, the remote endpoint whose TIME_WAIT
 *     churn the port range cannot carry ({@code narrow_port_range}), or the process as {@code
 *     comm[pid]} ({@code low_nofile})
 * @param value the setting's value on the host, when it is one value (absent for the port range,
 *     whose value is in the host's sysctls)
 * @param finding a stable code: the {@code kind} tag, e.g. {@code tcp_tw_recycle}, {@code
 *     sysctl_drift}
 * @param summary one line for people
 * @param message what is wrong, why it matters and what to do
 * @param recommended the value to prefer, when one is right whatever the host (for drift: the
 *     fleet's majority value)
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SysctlFinding(
    String host,
    String name,
    String subject,
    String value,
    String finding,
    String summary,
    String message,
    String recommended) {
  public SysctlFinding {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(finding, "finding");
  }
}

package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * Limits a report must stay within ({@code ingest.limits} in the configuration). The defaults fit
 * what a real agent sends with room to spare: it reports the top 10 processes, 10 endpoints each,
 * and a few dozen sysctls.
 */
public class ReportLimits {
  /**
   * A host clock further than this from the collector's (either way) cannot be right (reset to
   * 1970, a wrong year): its reports are refused, counted per host and shown on the fleet page. Any
   * smaller offset is measured and corrected (docs/clock.md).
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.HOURS)
  @JsonProperty
  public Duration maxClockOffset = Duration.days(365);

  /**
   * How old a sample may be when it arrives, once placed on the collector's timeline. Agents replay
   * what they kept while the collector was unreachable, so this is generous.
   */
  @NotNull @JsonProperty public Duration maxAge = Duration.days(7);

  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxProcesses = 200;

  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxEndpointsPerProcess = 100;

  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxPortPressureEntries = 200;

  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxSysctls = 500;

  /** Listening sockets per report (the agent sends the fullest few). */
  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxListeners = 200;

  @Min(1)
  @Max(1_000)
  @JsonProperty
  public int maxHealthSources = 64;

  /** Network namespaces per report (a dense Kubernetes node has a few hundred pods). */
  @Min(1)
  @Max(100_000)
  @JsonProperty
  public int maxNamespaces = 2000;

  /** Longest process name accepted (the kernel keeps 15 bytes; longer means forged). */
  @Min(16)
  @Max(4096)
  @JsonProperty
  public int maxCommLength = 64;

  @Min(16)
  @Max(65_536)
  @JsonProperty
  public int maxCmdlineLength = 4096;

  /** Longest "ip:port" (an IPv6 address with brackets and port is 47 characters). */
  @Min(47)
  @Max(1024)
  @JsonProperty
  public int maxEndpointLength = 64;

  @Min(16)
  @Max(65_536)
  @JsonProperty
  public int maxSysctlValueLength = 4096;

  @Min(16)
  @Max(65_536)
  @JsonProperty
  public int maxTextLength = 1024;

  /**
   * Sustained reports per second one agent (its authenticated identity, else its host) may send. An
   * agent samples every 10 s; replays after an outage go faster, within {@link #reportBurst}.
   * Beyond it the agent's stream ends with RESOURCE_EXHAUSTED (counted as {@code
   * ingest.rejected.rate_limit}); the agent keeps what was not acknowledged and replays it after
   * its reconnect backoff, so an honest agent loses nothing and a flooding one is slowed down.
   */
  @DecimalMin("0.01")
  @DecimalMax("100000")
  @JsonProperty
  public double maxReportsPerSecond = 20;

  /** Reports an agent may send at once above the sustained rate (a replayed backlog). */
  @Min(1)
  @Max(1_000_000)
  @JsonProperty
  public int reportBurst = 2000;

  /**
   * Distinct series one host may create within {@link #seriesWindow}: processes (pid, comm), their
   * CLOSE_WAIT peers (pid, comm, remote), port pressure remotes and sysctl names. A report that
   * would take a host past it is refused with RESOURCE_EXHAUSTED ({@code
   * ingest.rejected.cardinality}); reports on series the host already has still pass.
   */
  @Min(10)
  @Max(10_000_000)
  @JsonProperty
  public int maxSeriesPerHost = 10_000;

  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.MINUTES)
  @JsonProperty
  public Duration seriesWindow = Duration.hours(1);
}

package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

/**
 * Limits a report must stay within ({@code ingest.limits} in the configuration). The defaults fit
 * what a real agent sends with room to spare: it reports the top 10 processes, 10 endpoints each,
 * and a few dozen sysctls.
 */
public class ReportLimits {
  /** How far ahead of the collector's clock a sample time may be. */
  @NotNull @JsonProperty public Duration maxFutureSkew = Duration.minutes(5);

  /**
   * How old a sample may be when it arrives. Agents replay what they kept while the collector was
   * unreachable, so this is generous.
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

  @Min(1)
  @Max(1_000)
  @JsonProperty
  public int maxHealthSources = 64;

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
}

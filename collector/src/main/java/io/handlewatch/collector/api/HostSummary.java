package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.detect.Severity;
import java.util.Map;

/**
 * One host in the fleet listing: when it last reported, its status, the worst verdict's ETA, its
 * socket counts and fd usage, and the processes most likely to blame. Values the host's latest
 * sample did not carry are absent (null, left out of the JSON), never 0.
 *
 * @param host the host name
 * @param lastSeen sample time of its latest report (RFC 3339)
 * @param ageSeconds seconds from {@code lastSeen} to now
 * @param intervalSeconds its report interval: observed from its recent reports, or the configured
 *     default while fewer than two are known
 * @param intervalObserved whether {@code intervalSeconds} was observed (true) or is the default
 * @param status ok, warning, critical (from firing alerts and verdicts) or stale
 * @param worstEta the verdict with the nearest exhaustion, absent when none predicts one
 * @param seq sequence number of the latest report
 * @param established ESTABLISHED sockets
 * @param timeWait TIME_WAIT sockets
 * @param closeWait CLOSE_WAIT sockets
 * @param tcp every TCP state's count
 * @param fdUsedPercent the worse of system-wide (file-nr of file-max) and the worst process's (fds
 *     of its soft limit) fd usage, in percent
 * @param fdUsedBy which of the two {@code fdUsedPercent} is: {@code system} or {@code process}
 * @param fdSystemPercent system-wide fd usage, percent
 * @param topOffender the process with the highest fd usage of its soft limit
 * @param topCloseWait the process holding the most CLOSE_WAIT sockets, when any holds one
 * @param droppedReports reports the agent dropped since it started (its queue was full)
 * @param labels the host's labels (env, cluster, role...) as its agent was given them; absent
 *     without any
 * @param agentVersion the version of the agent that sent the latest report; absent from agents too
 *     old to say
 * @param agentCommit the git commit that agent was built from, when it knows
 * @param clock the host's clock against the collector's: offset, refusals, last step; absent before
 *     anything was measured
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostSummary(
    String host,
    String lastSeen,
    double ageSeconds,
    double intervalSeconds,
    boolean intervalObserved,
    HostStatus status,
    WorstEta worstEta,
    long seq,
    Long established,
    Long timeWait,
    Long closeWait,
    Map<String, Object> tcp,
    Double fdUsedPercent,
    String fdUsedBy,
    Double fdSystemPercent,
    Offender topOffender,
    Offender topCloseWait,
    long droppedReports,
    Map<String, String> labels,
    String agentVersion,
    String agentCommit,
    ClockSummary clock) {

  /**
   * A host's clock as the collector measured it (docs/clock.md).
   *
   * @param offsetSeconds the host's clock minus the collector's, in seconds (positive: ahead), as
   *     applied to its latest stored report; absent before one was stored
   * @param refused reports refused for a time that cannot be right (since this collector started)
   * @param lastRefusal why the latest was refused
   * @param lastStepSeconds the latest step of the host's clock this collector saw (positive:
   *     forward)
   * @param lastStepAt when it saw it (RFC 3339)
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ClockSummary(
      Double offsetSeconds,
      long refused,
      String lastRefusal,
      Double lastStepSeconds,
      String lastStepAt) {}

  /**
   * The verdict with the nearest ETA.
   *
   * @param etaSeconds seconds until its limit
   * @param kind the verdict's kind
   * @param subject what it is about (host, process, remote endpoint)
   * @param severity its severity
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record WorstEta(double etaSeconds, String kind, String subject, Severity severity) {}

  /**
   * A process, with what makes it suspect.
   *
   * @param pid process id
   * @param comm its command name
   * @param fds fds open
   * @param softLimit its soft RLIMIT_NOFILE
   * @param usedPercent fds of the soft limit, percent
   * @param closeWait CLOSE_WAIT sockets it holds
   * @param topRemote the remote endpoint most of its CLOSE_WAIT sockets point at
   * @param topRemoteCount how many of them point there
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Offender(
      long pid,
      String comm,
      Long fds,
      Long softLimit,
      Double usedPercent,
      Long closeWait,
      String topRemote,
      Long topRemoteCount) {}
}

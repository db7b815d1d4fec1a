package io.handlewatch.collector.clock;

import java.time.Instant;

/**
 * One host's clock as this collector last saw it.
 *
 * @param host the host
 * @param offsetMs the offset applied to its latest placed report, agent minus collector (positive:
 *     its clock is ahead); null before one was placed
 * @param refusals reports of it refused for a time that cannot be right, since this collector
 *     started
 * @param lastRefusal why the latest of them was refused; null without any
 * @param lastRefusalAt when it was refused; null without any
 * @param lastStepMs the latest step of its clock (positive: forward); null without any
 * @param lastStepAt when the collector saw that step
 */
public record HostClockState(
    String host,
    Long offsetMs,
    long refusals,
    String lastRefusal,
    Instant lastRefusalAt,
    Long lastStepMs,
    Instant lastStepAt) {}

package io.handlewatch.collector.ingest;

import java.util.concurrent.TimeUnit;

/** The per-agent limits every stream shares: report rate and series cardinality. */
record AgentQuotas(ReportRateLimiter rate, SeriesBudget series) {
  static AgentQuotas of(ReportLimits limits) {
    return new AgentQuotas(
        new ReportRateLimiter(limits.maxReportsPerSecond, limits.reportBurst, System::nanoTime),
        new SeriesBudget(
            limits.maxSeriesPerHost,
            TimeUnit.MILLISECONDS.toNanos(limits.seriesWindow.toMilliseconds()),
            System::nanoTime));
  }
}

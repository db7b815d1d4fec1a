package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.HostReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The newest stored report per host, kept in memory by every store for the API's "latest" views.
 * Agents send sysctls only when they change (report.proto), so a report without sysctls inherits
 * the host's last known ones here: the latest view always shows them. An older report (a replay
 * after a reconnect) never replaces a newer one.
 */
public final class LatestReports {
  private final ConcurrentSkipListMap<String, HostReport> byHost = new ConcurrentSkipListMap<>();

  /** Records a stored report. */
  public void update(HostReport report) {
    String host = ReportPoints.hostOf(report);
    byHost.compute(
        host,
        (h, previous) -> {
          if (previous == null) return report;
          if (ReportPoints.timeOf(report).isBefore(ReportPoints.timeOf(previous))) {
            if (previous.getSample().getSysctlsCount() == 0
                && report.getSample().getSysctlsCount() > 0) {
              return previous.toBuilder()
                  .setSample(
                      previous.getSample().toBuilder()
                          .addAllSysctls(report.getSample().getSysctlsList()))
                  .build();
            }
            return previous;
          }
          if (report.getSample().getSysctlsCount() == 0
              && previous.getSample().getSysctlsCount() > 0) {
            return report.toBuilder()
                .setSample(
                    report.getSample().toBuilder()
                        .addAllSysctls(previous.getSample().getSysctlsList()))
                .build();
          }
          return report;
        });
  }

  public Optional<HostReport> get(String host) {
    return Optional.ofNullable(byHost.get(host));
  }

  /** Every host's latest report, in host-name order. */
  public List<HostReport> all() {
    return new ArrayList<>(byHost.values());
  }

  public int hosts() {
    return byHost.size();
  }
}

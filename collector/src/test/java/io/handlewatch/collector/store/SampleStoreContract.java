package io.handlewatch.collector.store;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The one suite every {@link SampleStore} passes: the memory store in {@code MemoryStoreTest},
 * InfluxDB against a real influxd in {@code InfluxStoreIT}. Each test uses its own host names, so a
 * backend that keeps data between tests (a shared database) still sees only its own points.
 */
public abstract class SampleStoreContract {

  /** A fresh store; closed after each test. */
  protected abstract SampleStore newStore() throws Exception;

  protected SampleStore store;
  private static long unique = System.nanoTime();
  protected final Instant t0 = Instant.parse("2026-11-24T10:00:00.123Z");

  @BeforeEach
  void open() throws Exception {
    store = newStore();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  protected static String host(String name) {
    return name + "-" + Long.toString(unique++, 36);
  }

  protected void write(HostReport... reports) throws Exception {
    List<CompletableFuture<WriteOutcome>> pending = new ArrayList<>();
    for (HostReport r : reports) pending.add(store.write(r));
    for (var f : pending) {
      WriteOutcome o = f.get(30, TimeUnit.SECONDS);
      assertThat(o.pointsDropped()).as("points dropped").isZero();
    }
  }

  private List<SeriesPoint> series(String host, String m, String field) throws StoreException {
    return store.series(
        SeriesQuery.of(host, m, field, t0.minus(1, ChronoUnit.HOURS), t0.plus(1, ChronoUnit.DAYS)));
  }

  @Test
  void writtenReportReadsBackFieldByField() throws Exception {
    String h = host("one");
    write(report(h, 7, t0));

    assertThat(series(h, "tcp", "close_wait"))
        .containsExactly(SeriesPoint.numeric(t0, Map.of("host", h), 7));
    assertThat(series(h, "tcp", "established"))
        .extracting(SeriesPoint::value)
        .containsExactly(1007.0);
    assertThat(series(h, "fd", "used_ratio"))
        .extracting(SeriesPoint::value)
        .containsExactly(5007 / 1_000_000.0);
    assertThat(series(h, "sockstat", "tw")).extracting(SeriesPoint::value).containsExactly(307.0);
    assertThat(series(h, "port_pressure", "in_use"))
        .containsExactly(
            SeriesPoint.numeric(t0, Map.of("host", h, "remote", "10.0.0.5:5432"), 207));
    assertThat(series(h, "close_wait_peer", "count"))
        .containsExactly(
            SeriesPoint.numeric(
                t0,
                Map.of("host", h, "pid", "4242", "comm", "java", "remote", "10.0.0.9:8080"),
                7));
  }

  @Test
  void seriesAreInTimeOrderAndLimitedToTheRange() throws Exception {
    String h = host("range");
    HostReport[] reports = new HostReport[10];
    for (int i = 0; i < 10; i++) reports[i] = report(h, i + 1, t0.plusSeconds(10L * i));
    write(reports);

    var all = series(h, "tcp", "close_wait");
    assertThat(all)
        .extracting(SeriesPoint::value)
        .containsExactly(1., 2., 3., 4., 5., 6., 7., 8., 9., 10.);
    assertThat(all).extracting(SeriesPoint::time).isSorted();

    var middle =
        store.series(
            SeriesQuery.of(h, "tcp", "close_wait", t0.plusSeconds(20), t0.plusSeconds(50)));
    assertThat(middle).extracting(SeriesPoint::value).containsExactly(3., 4., 5., 6.);
  }

  @Test
  void tagFilterSelectsOneProcess() throws Exception {
    String h = host("proc");
    write(report(h, 3, t0), report(h, 4, t0.plusSeconds(10)));

    var java =
        store.series(
            new SeriesQuery(
                h,
                "process",
                "fds",
                Map.of("pid", "4242"),
                t0.minusSeconds(1),
                t0.plusSeconds(60)));
    assertThat(java).extracting(SeriesPoint::value).containsExactly(803., 804.);
    assertThat(java).allSatisfy(p -> assertThat(p.tags()).containsEntry("comm", "java"));

    var both = series(h, "process", "fds");
    assertThat(both).hasSize(4);
    assertThat(both).extracting(p -> p.tags().get("pid")).containsOnly("4242", "77");
  }

  @Test
  void aReplayedReportLandsOnTheSamePoint() throws Exception {
    String h = host("dup");
    HostReport r = report(h, 5, t0);
    write(r);
    write(r, r);

    assertThat(series(h, "tcp", "close_wait")).hasSize(1);
    assertThat(series(h, "process", "fds")).hasSize(2);
  }

  @Test
  void hostsAreKeptApart() throws Exception {
    String a = host("a");
    String b = host("b");
    write(report(a, 1, t0), report(b, 2, t0));

    assertThat(series(a, "tcp", "close_wait")).extracting(SeriesPoint::value).containsExactly(1.);
    assertThat(series(b, "tcp", "close_wait")).extracting(SeriesPoint::value).containsExactly(2.);
  }

  @Test
  void awkwardProcessNamesRoundTripWithoutExtraSeries() throws Exception {
    String h = host("names");
    List<String> names =
        List.of("my worker", "a,b", "k=v", "say \"hi\"", "back\\slash", "quote'single", "ünïcode→");
    var sample = TestReports.sample(h, 1, t0).toBuilder().clearProcesses();
    for (int i = 0; i < names.size(); i++) {
      sample.addProcesses(TestReports.process(1000 + i, names.get(i), 10 + i, 1024, 0));
    }
    write(HostReport.newBuilder().setSeq(1).setSample(sample).build());

    var points = series(h, "process", "fds");
    assertThat(points).hasSize(names.size());
    for (int i = 0; i < names.size(); i++) {
      String pid = Integer.toString(1000 + i);
      var p =
          points.stream().filter(x -> x.tags().get("pid").equals(pid)).findFirst().orElseThrow();
      assertThat(p.tags())
          .containsEntry("comm", names.get(i))
          .containsOnlyKeys("host", "pid", "comm");
      assertThat(p.value()).isEqualTo(10 + i);
    }
  }

  @Test
  void lineBreaksAreMadeSafeTheSameWayEverywhere() throws Exception {
    String h = host("unsafe");
    List<String> raw = List.of("evil\nname", "tail\\", "tab\there", "cr\rx");
    var sample = TestReports.sample(h, 1, t0).toBuilder().clearProcesses();
    for (int i = 0; i < raw.size(); i++) {
      sample.addProcesses(TestReports.process(2000 + i, raw.get(i), 5, 1024, 0));
    }
    write(HostReport.newBuilder().setSeq(1).setSample(sample).build());

    var points = series(h, "process", "fds");
    assertThat(points).hasSize(raw.size());
    assertThat(points)
        .extracting(p -> p.tags().get("comm"))
        .containsExactlyInAnyOrder("evil\\nname", "tail\\", "tab\\there", "cr\\rx");
    // Nothing leaked into a measurement or a host of its own.
    assertThat(series(h, "tcp", "close_wait")).hasSize(1);
    assertThat(store.latest("name")).isEmpty();
  }

  @Test
  void tagValuesEndingInBackslashesRoundTripAndFilterByTheirOriginal() throws Exception {
    String h = host("tail");
    // What the host JSON shows is what a filter names: the same string must find the series.
    List<String> comms = List.of("a,b=c d\\", "x\\\\");
    var sample = TestReports.sample(h, 1, t0).toBuilder().clearProcesses();
    for (int i = 0; i < comms.size(); i++) {
      sample.addProcesses(TestReports.process(3000 + i, comms.get(i), 7 + i, 1024, 0));
    }
    write(HostReport.newBuilder().setSeq(1).setSample(sample).build());

    for (int i = 0; i < comms.size(); i++) {
      var found =
          store.series(
              new SeriesQuery(
                  h,
                  "process",
                  "fds",
                  Map.of("comm", comms.get(i)),
                  t0.minus(1, ChronoUnit.HOURS),
                  t0.plus(1, ChronoUnit.HOURS)));
      assertThat(found).as("series of comm %s", comms.get(i)).hasSize(1);
      assertThat(found.getFirst().tags())
          .containsEntry("comm", comms.get(i))
          .containsEntry("pid", Integer.toString(3000 + i));
      assertThat(found.getFirst().value()).isEqualTo(7 + i);
    }
    assertThat(store.history(h, java.util.Set.of("process"), t0, t0))
        .extracting(p -> p.tags().get("comm"))
        .containsExactlyInAnyOrderElementsOf(comms);
  }

  @Test
  void sysctlsKeepTheirTextAndNumber() throws Exception {
    String h = host("sysctl");
    write(report(h, 1, t0));

    var text =
        store.series(
            new SeriesQuery(
                h,
                "sysctl",
                "value",
                Map.of("name", "net.ipv4.ip_local_port_range"),
                t0.minusSeconds(1),
                t0.plusSeconds(1)));
    assertThat(text).extracting(SeriesPoint::text).containsExactly("32768\t60999");
    var number =
        store.series(
            new SeriesQuery(
                h,
                "sysctl",
                "numeric",
                Map.of("name", "net.core.somaxconn"),
                t0.minusSeconds(1),
                t0.plusSeconds(1)));
    assertThat(number).extracting(SeriesPoint::value).containsExactly(4096.);
  }

  @Test
  void absentValuesAreNotWrittenAsZero() throws Exception {
    String h = host("absent");
    HostSample bare =
        TestReports.sample(h, 1, t0).toBuilder()
            .clearSockstat()
            .clearFileHandles()
            .clearProcesses()
            .clearPortPressure()
            .build();
    write(HostReport.newBuilder().setSeq(1).setSample(bare).build());

    assertThat(series(h, "tcp", "close_wait")).hasSize(1);
    assertThat(series(h, "fd", "allocated")).isEmpty();
    assertThat(series(h, "sockstat", "inuse")).isEmpty();
    assertThat(series(h, "process", "fds")).isEmpty();
  }

  @Test
  void latestIsTheNewestReportWithTheLastKnownSysctls() throws Exception {
    String h = host("latest");
    HostReport first = report(h, 1, t0);
    HostReport second =
        HostReport.newBuilder()
            .setSeq(2)
            .setSample(TestReports.sample(h, 2, t0.plusSeconds(10)).toBuilder().clearSysctls())
            .build();
    write(first, second);
    write(first); // a late replay of an older report does not win

    HostReport latest = store.latest(h).orElseThrow();
    assertThat(latest.getSeq()).isEqualTo(2);
    assertThat(latest.getSample().getTcp().getTotal().getCloseWait()).isEqualTo(2);
    assertThat(latest.getSample().getSysctlsList()).isEqualTo(first.getSample().getSysctlsList());
    assertThat(store.latestPerHost()).extracting(ReportPoints::hostOf).contains(h);
    assertThat(store.latest(host("never"))).isEmpty();
  }

  private List<SeriesPoint> aggregate(
      String host,
      String m,
      String field,
      Map<String, String> tags,
      long stepSeconds,
      Aggregation agg)
      throws StoreException {
    return store.aggregate(
        new AggregateQuery(
            new SeriesQuery(
                host, m, field, tags, t0.minus(1, ChronoUnit.HOURS), t0.plus(1, ChronoUnit.DAYS)),
            java.time.Duration.ofSeconds(stepSeconds),
            agg));
  }

  /** Ten reports 10 s apart from t0 (10:00:00.123), close_wait 1..10. */
  private String tenReports(String name) throws Exception {
    String h = host(name);
    HostReport[] reports = new HostReport[10];
    for (int i = 0; i < 10; i++) reports[i] = report(h, i + 1, t0.plusSeconds(10L * i));
    write(reports);
    return h;
  }

  @Test
  void aggregateSummarisesStepsAlignedToTheEpoch() throws Exception {
    String h = tenReports("agg");
    Instant bucket0 = Instant.parse("2026-11-24T10:00:00Z");
    List<Instant> starts =
        List.of(bucket0, bucket0.plusSeconds(30), bucket0.plusSeconds(60), bucket0.plusSeconds(90));

    var max = aggregate(h, "tcp", "close_wait", Map.of(), 30, Aggregation.MAX);
    assertThat(max).extracting(SeriesPoint::time).containsExactlyElementsOf(starts);
    assertThat(max).extracting(SeriesPoint::value).containsExactly(3., 6., 9., 10.);
    assertThat(max).allSatisfy(p -> assertThat(p.tags()).containsEntry("host", h));
    assertThat(aggregate(h, "tcp", "close_wait", Map.of(), 30, Aggregation.MEAN))
        .extracting(SeriesPoint::value)
        .containsExactly(2., 5., 8., 10.);
    assertThat(aggregate(h, "tcp", "close_wait", Map.of(), 30, Aggregation.MIN))
        .extracting(SeriesPoint::value)
        .containsExactly(1., 4., 7., 10.);
    assertThat(aggregate(h, "tcp", "close_wait", Map.of(), 30, Aggregation.LAST))
        .extracting(SeriesPoint::value)
        .containsExactly(3., 6., 9., 10.);
  }

  @Test
  void aggregateKeepsSeriesApartAndHonoursTagsAndRange() throws Exception {
    String h = tenReports("aggtags");
    var perProcess = aggregate(h, "process", "fds", Map.of(), 60, Aggregation.MAX);
    assertThat(perProcess).hasSize(4); // two processes, two one-minute steps
    assertThat(perProcess)
        .filteredOn(p -> "4242".equals(p.tags().get("pid")))
        .extracting(SeriesPoint::value)
        .containsExactly(806., 810.);
    assertThat(perProcess)
        .filteredOn(p -> "77".equals(p.tags().get("pid")))
        .allSatisfy(p -> assertThat(p.tags()).containsEntry("comm", "nginx"))
        .extracting(SeriesPoint::value)
        .containsExactly(120., 120.);

    var one = aggregate(h, "process", "fds", Map.of("pid", "77"), 60, Aggregation.MEAN);
    assertThat(one).extracting(SeriesPoint::value).containsExactly(120., 120.);

    var window =
        store.aggregate(
            new AggregateQuery(
                SeriesQuery.of(h, "tcp", "close_wait", t0.plusSeconds(15), t0.plusSeconds(45)),
                java.time.Duration.ofSeconds(30),
                Aggregation.MAX));
    assertThat(window).extracting(SeriesPoint::value).containsExactly(3., 5.);
    assertThat(aggregate(host("none"), "tcp", "close_wait", Map.of(), 30, Aggregation.MAX))
        .isEmpty();
  }

  @Test
  void reportIntervalIsTheMedianGapPerSequenceNumber() throws Exception {
    String h = host("interval");
    write(report(h, 1, t0));
    assertThat(store.reportInterval(h)).as("one report: no interval yet").isEmpty();
    write(report(h, 2, t0.plusSeconds(10)));
    write(report(h, 5, t0.plusSeconds(40))); // seq 3 and 4 were dropped by the agent
    write(report(h, 6, t0.plusSeconds(50)));
    write(report(h, 7, t0.plusSeconds(3600))); // back after a long outage
    assertThat(store.reportInterval(h)).contains(java.time.Duration.ofSeconds(10));
    assertThat(store.reportInterval(host("unknown"))).isEmpty();
  }

  @Test
  void pointsBesideReportsReadBackByTagAndField() throws Exception {
    String h = host("verdict");
    Map<String, Object> firing = new java.util.LinkedHashMap<>();
    firing.put("severity", "critical");
    firing.put("eta_seconds", 3600L);
    firing.put("slope_per_min", 12.5);
    firing.put("value", 900.0);
    firing.put("limit", 1024.0);
    // No ETA once the trend is gone: the field is absent, not zero.
    Map<String, Object> calm = Map.of("severity", "ok", "value", 910.0);
    var tags =
        new java.util.TreeMap<>(Map.of("host", h, "kind", "process_fds", "subject", "java[42]"));
    var other =
        new java.util.TreeMap<>(Map.of("host", h, "kind", "close_wait", "subject", "java[42]"));
    WriteOutcome o =
        store
            .writePoints(
                List.of(
                    new StoredPoint("verdict", tags, firing, t0),
                    new StoredPoint(
                        "verdict", other, Map.of("severity", "critical", "value", 5.0), t0),
                    new StoredPoint("verdict", tags, calm, t0.plusSeconds(10))))
            .get(30, TimeUnit.SECONDS);
    // Compared without the times: how long the backend took, and how long the points waited for a
    // writer, are the store's own measurements.
    assertThat(o.took(0).waitedForWriter(0)).isEqualTo(WriteOutcome.written(3));

    var eta =
        store.series(
            new SeriesQuery(
                h,
                "verdict",
                "eta_seconds",
                Map.of("kind", "process_fds"),
                t0,
                t0.plusSeconds(60)));
    assertThat(eta)
        .containsExactly(
            SeriesPoint.numeric(
                t0, Map.of("host", h, "kind", "process_fds", "subject", "java[42]"), 3600));
    var severity =
        store.series(
            new SeriesQuery(
                h, "verdict", "severity", Map.of("kind", "process_fds"), t0, t0.plusSeconds(60)));
    assertThat(severity).extracting(SeriesPoint::text).containsExactly("critical", "ok");
    assertThat(series(h, "verdict", "value"))
        .extracting(SeriesPoint::value)
        .contains(900., 910., 5.);
    // Points are not reports: the latest view is untouched.
    assertThat(store.latest(h)).isEmpty();
  }

  @Test
  void kernelTablesRoundTripWithBoundedSeries() throws Exception {
    String h = host("tables");
    write(
        TestReports.withKernelTables(report(h, 4, t0)),
        TestReports.withKernelTables(report(h, 5, t0.plusSeconds(10))));

    assertThat(
            store.series(
                new SeriesQuery(
                    h,
                    "conntrack",
                    "count",
                    Map.of("namespace", ReportPoints.HOST_NETNS),
                    t0.minusSeconds(1),
                    t0.plusSeconds(60))))
        .extracting(SeriesPoint::value)
        .containsExactly(40., 50.);
    // Two pods of one Kubernetes namespace are one series: their sum, the limit once.
    var shop =
        store.series(
            new SeriesQuery(
                h, "conntrack", "count", Map.of("namespace", "shop"), t0, t0.plusSeconds(1)));
    assertThat(shop).extracting(SeriesPoint::value).containsExactly(10.);
    assertThat(series(h, "conntrack", "max")).extracting(SeriesPoint::value).containsOnly(262_144.);
    assertThat(series(h, "conntrack", "fullest"))
        .as("each pod's own table is held to the limit: the fuller one, not the sum")
        .extracting(p -> p.tags().get("namespace") + "=" + p.value())
        .contains("shop=5.0", "_host=40.0", "_host=50.0");
    assertThat(series(h, "conntrack", "namespaces"))
        .extracting(p -> p.tags().get("namespace") + "=" + p.value())
        .containsOnly("_host=1.0", "shop=2.0");
    assertThat(series(h, "tcp_counters", "listen_overflows"))
        .extracting(SeriesPoint::value)
        .containsExactly(104., 105.);
    assertThat(series(h, "tcp_counters", "syncookies_sent"))
        .extracting(SeriesPoint::value)
        .containsExactly(6., 6.);

    var nginx =
        store.series(
            new SeriesQuery(
                h,
                "listener",
                "queue",
                Map.of("local", "0.0.0.0:443", "comm", "nginx"),
                t0.minusSeconds(1),
                t0.plusSeconds(60)));
    assertThat(nginx).extracting(SeriesPoint::value).containsExactly(4., 5.);
    assertThat(nginx.get(0).tags()).doesNotContainKey("pid").doesNotContainKey("namespace");
    assertThat(series(h, "listener", "pid"))
        .extracting(p -> p.tags().get("comm") + "=" + p.value())
        .containsOnly("nginx=812.0", "java=901.0");
    // The two java replicas share address, comm and namespace: one series, the fullest queue.
    var java =
        store.series(
            new SeriesQuery(h, "listener", "queue", Map.of("comm", "java"), t0, t0.plusSeconds(1)));
    assertThat(java)
        .containsExactly(
            SeriesPoint.numeric(
                t0,
                Map.of("host", h, "local", "0.0.0.0:8080", "comm", "java", "namespace", "shop"),
                7));
    assertThat(series(h, "listener", "listeners"))
        .extracting(SeriesPoint::value)
        .containsOnly(1., 2.);
    assertThat(series(h, "listener", "syn_recv"))
        .extracting(p -> p.tags().get("comm") + "=" + p.value())
        .containsOnly("nginx=2.0", "java=2.0");

    // What the detection window is warmed from comes back as the report had it.
    List<HostReport> back =
        StoredReports.of(
            h,
            store.history(h, StoredReports.MEASUREMENTS, t0.minusSeconds(1), t0.plusSeconds(60)));
    assertThat(back).hasSize(2);
    HostSample got = back.get(1).getSample();
    HostSample want = TestReports.withKernelTables(report(h, 5, t0)).getSample();
    assertThat(got.getConntrack()).isEqualTo(want.getConntrack());
    assertThat(got.getTcpCounters()).isEqualTo(want.getTcpCounters());
    assertThat(got.getSockstat()).isEqualTo(want.getSockstat());
    assertThat(got.getListenQueues().getListenersList())
        .extracting(l -> l.getLocal(), l -> l.getComm(), l -> l.getPid(), l -> l.getQueue())
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("0.0.0.0:443", "nginx", 812, 5L),
            org.assertj.core.groups.Tuple.tuple("0.0.0.0:8080", "java", 901, 7L));
  }

  @Test
  void historyReadsBackTheReportsADetectionWindowIsBuiltFrom() throws Exception {
    String h = host("history");
    HostReport[] written = new HostReport[5];
    for (int i = 0; i < 5; i++) written[i] = report(h, i + 1, t0.plusSeconds(10L * i));
    write(written);
    write(report(host("neighbour"), 1, t0));

    List<StoredPoint> points =
        store.history(h, StoredReports.MEASUREMENTS, t0.plusSeconds(10), t0.plusSeconds(30));
    assertThat(points).extracting(StoredPoint::time).isSorted();
    assertThat(points).extracting(StoredPoint::host).containsOnly(h);
    assertThat(points).extracting(StoredPoint::measurement).doesNotContain("sysctl", "agent");

    List<HostReport> back = StoredReports.of(h, points);
    assertThat(back).hasSize(3);
    for (int i = 0; i < 3; i++) {
      HostSample want = written[i + 1].getSample();
      HostSample got = back.get(i).getSample();
      assertThat(ReportPoints.timeOf(back.get(i))).isEqualTo(ReportPoints.timeOf(written[i + 1]));
      assertThat(got.getHost().getHostname()).isEqualTo(h);
      assertThat(got.getTcp().getTotal()).isEqualTo(want.getTcp().getTotal());
      assertThat(got.getFileHandles()).isEqualTo(want.getFileHandles());
      assertThat(got.getPortPressure().getRangeSize())
          .isEqualTo(want.getPortPressure().getRangeSize());
      assertThat(got.getPortPressure().getTopList()).isEqualTo(want.getPortPressure().getTopList());
      assertThat(got.getProcessesList())
          .extracting(
              p -> p.getPid(),
              p -> p.getComm(),
              p -> p.getFds(),
              p -> p.getSoftLimit(),
              p -> p.getHardLimit(),
              p -> p.getStartTicks(),
              p -> p.getSockets().getCloseWait(),
              p -> p.getCloseWaitPeersList())
          .containsExactlyInAnyOrderElementsOf(
              want.getProcessesList().stream()
                  .map(
                      p ->
                          org.assertj.core.groups.Tuple.tuple(
                              p.getPid(),
                              p.getComm(),
                              p.getFds(),
                              p.getSoftLimit(),
                              p.getHardLimit(),
                              p.getStartTicks(),
                              p.getSockets().getCloseWait(),
                              p.getCloseWaitPeersList()))
                  .toList());
    }
  }

  @Test
  void historiesOfManyHostsAreEachWhatHistoryGivesForIt() throws Exception {
    // Names a batched read must keep apart: a quote, regex and InfluxQL punctuation, a trailing
    // backslash, a space, and prefixes of one another.
    List<String> hosts =
        List.of(
            host("batch"),
            host("batch") + "'o",
            host("batch") + ".*|(x)/",
            host("batch") + " a,b=c\\",
            host("batch-prefix"),
            host("batch-prefix") + "-longer");
    List<HostReport> written = new ArrayList<>();
    for (int h = 0; h < hosts.size(); h++) {
      // Each host reports at its own times, some before the range, some in it, some after.
      for (int i = 0; i < 3 + h; i++) {
        written.add(report(hosts.get(h), i + 1, t0.plusSeconds(10L * i + h)));
      }
    }
    write(written.toArray(HostReport[]::new));
    var verdict =
        new java.util.TreeMap<>(Map.of("host", hosts.get(1), "kind", "close_wait", "subject", "s"));
    store
        .writePoints(
            List.of(
                new StoredPoint(
                    "verdict", verdict, Map.of("severity", "warning"), t0.plusSeconds(20))))
        .get(30, TimeUnit.SECONDS);
    String unknown = host("nobody");
    java.util.Set<String> measurements = new java.util.HashSet<>(StoredReports.MEASUREMENTS);
    measurements.add("verdict");
    Instant from = t0.plusSeconds(10);
    Instant to = t0.plusSeconds(40);

    List<String> asked = new ArrayList<>(hosts);
    asked.add(unknown);
    Map<String, List<StoredPoint>> all = store.histories(asked, measurements, from, to);

    assertThat(all.keySet()).containsExactlyInAnyOrderElementsOf(asked);
    assertThat(all.get(unknown)).isEmpty();
    for (String h : hosts) {
      List<StoredPoint> one = store.history(h, measurements, from, to);
      assertThat(one).as("history of %s", h).isNotEmpty();
      assertThat(all.get(h)).as("%s in the batch", h).extracting(StoredPoint::time).isSorted();
      assertThat(all.get(h))
          .as("%s in the batch", h)
          .containsExactlyInAnyOrderElementsOf(one)
          .extracting(StoredPoint::host)
          .containsOnly(h);
    }
    assertThat(all.get(hosts.get(1))).extracting(StoredPoint::measurement).contains("verdict");
    assertThat(store.histories(List.of(), measurements, from, to)).isEmpty();
  }

  @Test
  void theAgentsVersionIsAFieldNotANewSeries() throws Exception {
    String h = host("rollout");
    HostReport old = report(h, 1, t0);
    HostReport.Builder upgraded = report(h, 2, t0.plusSeconds(10)).toBuilder();
    upgraded.getSampleBuilder().getHostBuilder().setAgentVersion("0.2.0").setAgentCommit("abc123");
    write(old, upgraded.build());
    List<StoredPoint> points =
        store.history(h, java.util.Set.of("agent"), t0.minusSeconds(1), t0.plusSeconds(11));
    assertThat(points).hasSize(2);
    // One series across the upgrade: the version is a field, the tags stay the host's.
    assertThat(points).extracting(StoredPoint::tags).containsOnly(points.getFirst().tags());
    assertThat(points.getFirst().fields()).doesNotContainKey("agent_version");
    assertThat(points.get(1).fields())
        .containsEntry("agent_version", "0.2.0")
        .containsEntry("agent_commit", "abc123");
    assertThat(store.latest(h).orElseThrow().getSample().getHost().getAgentVersion())
        .isEqualTo("0.2.0");
  }

  @Test
  void historyOfVerdictsKeepsTextFieldsAndOfAnUnknownHostIsEmpty() throws Exception {
    String h = host("verdicts");
    var tags = new java.util.TreeMap<>(Map.of("host", h, "kind", "close_wait", "subject", "x[1]"));
    store
        .writePoints(
            List.of(
                new StoredPoint(
                    "verdict", tags, Map.of("severity", "critical", "alert", "{\"k\":1}"), t0)))
        .get(30, TimeUnit.SECONDS);
    List<StoredPoint> points =
        store.history(h, java.util.Set.of("verdict"), t0.minusSeconds(1), t0.plusSeconds(1));
    assertThat(points).hasSize(1);
    assertThat(points.getFirst().tags()).isEqualTo(tags);
    assertThat(points.getFirst().fields())
        .containsEntry("severity", "critical")
        .containsEntry("alert", "{\"k\":1}");
    assertThat(store.history(host("nobody"), StoredReports.MEASUREMENTS, t0, t0.plusSeconds(60)))
        .isEmpty();
  }

  @Test
  void healthCheckAnswers() {
    StoreHealth health = store.check();
    assertThat(health.healthy()).as(health.message()).isTrue();
    assertThat(health.message()).isNotBlank();
  }
}

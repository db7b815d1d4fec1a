package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.agent.transport.SysctlCadence;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.TestReports;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many agents (the real agent transport, each on its own connection over loopback) replay a backlog
 * at once into a collector whose InfluxDB write buffer is tiny: the shared admission budget keeps
 * the buffer within its bound the whole time, no stream is ended for a full buffer, and every
 * report ends up in a real influxd exactly once.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class AdmissionIT {
  private static final int AGENTS = 60;
  private static final int REPORTS_EACH = 8;
  private static final int BUFFER_POINTS = 1000;

  static final InfluxdHarness influxd;

  static {
    try {
      influxd = InfluxdHarness.start();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class,
          ResourceHelpers.resourceFilePath("test-influxdb.yml"),
          ConfigOverride.config("store.url", influxd::url),
          ConfigOverride.config("store.database", "admission"),
          ConfigOverride.config("store.maxBufferedPoints", Integer.toString(BUFFER_POINTS)),
          ConfigOverride.config("ingest.maxConnectionsPerPeer", "1000"));

  @AfterAll
  static void stopInflux() throws Exception {
    influxd.close();
  }

  @Test
  void aFleetReplayingAtOnceNeverOverfillsTheBufferAndLosesNothing() throws Exception {
    CollectorApplication app = APP.getApplication();
    MetricRegistry registry = APP.getEnvironment().metrics();
    long budget = (Long) registry.getGauges().get("ingest.admission.points.capacity").getValue();
    assertThat(budget)
        .as("half the buffer, the default backpressureAt")
        .isEqualTo(BUFFER_POINTS / 2);

    AtomicBoolean watching = new AtomicBoolean(true);
    AtomicLong maxInFlight = new AtomicLong();
    AtomicLong maxBuffered = new AtomicLong();
    AtomicLong maxHeld = new AtomicLong();
    Thread watcher =
        Thread.ofPlatform()
            .start(
                () -> {
                  var g = registry.getGauges();
                  while (watching.get()) {
                    maxInFlight.accumulateAndGet(
                        (Long) g.get("ingest.admission.points.inflight").getValue(), Math::max);
                    maxBuffered.accumulateAndGet(
                        (Integer) g.get("store.influxdb.buffered.points").getValue(), Math::max);
                    maxHeld.accumulateAndGet(
                        (Integer) g.get("ingest.streams.held").getValue(), Math::max);
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000); // sampling
                  }
                });

    Instant t0 = Instant.now().minus(30, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
    ScheduledExecutorService exec = Executors.newScheduledThreadPool(2);
    List<ManagedChannel> channels = new ArrayList<>();
    List<CollectorLink> links = new ArrayList<>();
    List<MemoryReportQueue> queues = new ArrayList<>();
    try {
      for (int a = 0; a < AGENTS; a++) {
        String host = String.format("adm-%03d", a);
        var queue = new MemoryReportQueue(1000, 64 << 20);
        for (long seq = 1; seq <= REPORTS_EACH; seq++) {
          queue.append(TestReports.report(host, seq, t0.plusSeconds(10 * seq)));
        }
        ManagedChannel ch =
            NettyChannelBuilder.forAddress("127.0.0.1", app.ingest().port()).usePlaintext().build();
        channels.add(ch);
        queues.add(queue);
        links.add(
            new CollectorLink(
                host,
                ch,
                queue,
                new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
                CollectorLink.defaultBackoff(),
                exec,
                Duration.ofSeconds(30)));
      }
      links.forEach(CollectorLink::start); // every agent at once, its whole backlog queued

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (queues.stream().anyMatch(q -> q.size() > 0)) {
        assertThat(System.nanoTime()).as("every report acknowledged").isLessThan(deadline);
        Thread.sleep(50); // polling the agents' queues with a deadline
      }
    } finally {
      watching.set(false);
      watcher.join();
      links.forEach(CollectorLink::close);
      channels.forEach(ManagedChannel::shutdownNow);
      exec.shutdownNow();
    }

    IngestMetrics metrics = app.ingestMetrics();
    assertThat(maxInFlight.get()).as("points in flight at most").isLessThanOrEqualTo(budget);
    // The buffer also takes the detector's verdict points: the half of it ingest leaves them.
    assertThat(maxBuffered.get())
        .as("points in the buffer at most")
        .isLessThanOrEqualTo(BUFFER_POINTS);
    assertThat(maxHeld.get())
        .as("streams waited for credit: the budget was the bound")
        .isPositive();
    assertThat(registry.counter("store.influxdb.buffer.refused").getCount()).isZero();
    assertThat(metrics.streamsEndedByStore()).as("streams ended by the store").isZero();
    assertThat(links.stream().mapToLong(CollectorLink::deferrals).sum())
        .as("deferrals the agents honoured, as the collector counted them")
        .isEqualTo(metrics.streamsDeferred());
    assertThat(registry.counter("ingest.admission.undercounted").getCount()).isZero();

    // Every report in InfluxDB, once: one tcp point per report, for each host.
    JsonNode body =
        new ObjectMapper()
            .readTree(
                influxd.query(
                    "admission",
                    "SELECT count(established) FROM tcp WHERE host =~ /^adm-/ GROUP BY host"));
    JsonNode series = body.at("/results/0/series");
    assertThat(series.size()).isEqualTo(AGENTS);
    for (JsonNode s : series) {
      assertThat(s.at("/values/0/1").asLong())
          .as(s.at("/tags/host").asText())
          .isEqualTo(REPORTS_EACH);
    }
  }
}

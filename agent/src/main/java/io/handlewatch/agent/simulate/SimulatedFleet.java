package io.handlewatch.agent.simulate;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * N simulated hosts, each with its own Report stream, seq and evolving sample, streaming to one
 * collector: the load generator behind the ingest benchmark. Starts are spread evenly over one
 * interval. Every 10 s it prints reports sent and acknowledged per second, the backlog, refusals,
 * and the ack latency (sample time to ack received: the report is stored, hence queryable, by
 * then).
 */
public final class SimulatedFleet {
  private final String target;
  private final int hosts;
  private final Duration interval;
  private final int processes;
  private final long seed;
  private final int hostsPerChannel;
  private final PrintWriter out;

  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong streamErrors = new AtomicLong();
  private final AtomicLong heldBack = new AtomicLong();
  private final AtomicLong deferred = new AtomicLong();
  private final AtomicLong bufferFull = new AtomicLong();
  private final AtomicLong hostsAcked = new AtomicLong();
  private volatile long allAckedNanos = -1;
  private volatile ScheduledExecutorService exec;

  /** Trailer of a stream a busy collector deferred: ms to wait before opening another. */
  private static final io.grpc.Metadata.Key<String> RETRY_AFTER =
      io.grpc.Metadata.Key.of(
          "handlewatch-retry-after-ms", io.grpc.Metadata.ASCII_STRING_MARSHALLER);

  /** Ack latency histogram of the current window, 1 ms buckets up to 60 s. */
  private volatile AtomicLongArray latency = new AtomicLongArray(60_001);

  /** Ack latency of every ack received from {@link #measureAfter} on, the same buckets. */
  private final AtomicLongArray measured = new AtomicLongArray(60_001);

  private Duration measureAfter = Duration.ZERO;
  private volatile long measureFromMs = Long.MAX_VALUE;

  /**
   * Also time every ack from this long after the start to the end, and print its percentiles at the
   * end: one figure for a benchmark's steady window, beside the per-window ones.
   */
  public SimulatedFleet measureAfter(Duration after) {
    this.measureAfter = after;
    return this;
  }

  public SimulatedFleet(
      String target,
      int hosts,
      Duration interval,
      int processes,
      long seed,
      int hostsPerChannel,
      PrintWriter out) {
    this.target = target;
    this.hosts = hosts;
    this.interval = interval;
    this.processes = processes;
    this.seed = seed;
    this.hostsPerChannel = hostsPerChannel;
    this.out = out;
  }

  /** One simulated host's stream and the reports it has sent and not yet seen acked. */
  private final class Host {
    final String name;
    final SimulatedSamples samples;
    final ManagedChannel channel;
    final ArrayDeque<long[]> unacked = new ArrayDeque<>(); // {seq, sample time ms}
    final ArrayDeque<HostReport> backlog = new ArrayDeque<>();
    ClientCallStreamObserver<HostReport> call;
    long seq;
    boolean sysctlsSent;
    boolean everAcked;

    /** While deferred by a busy collector: no stream before this time (ms). */
    long notBefore;

    Host(String name, SimulatedSamples samples, ManagedChannel channel) {
      this.name = name;
      this.samples = samples;
      this.channel = channel;
    }

    synchronized void open() {
      sysctlsSent = false;
      IngestGrpc.newStub(channel)
          .report(
              new ClientResponseObserver<HostReport, ReportAck>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<HostReport> c) {
                  synchronized (Host.this) {
                    call = c;
                  }
                  c.setOnReadyHandler(Host.this::drain);
                }

                @Override
                public void onNext(ReportAck ack) {
                  acked(ack);
                }

                @Override
                public void onError(Throwable t) {
                  Status st = Status.fromThrowable(t);
                  io.grpc.Metadata trailers = Status.trailersFromThrowable(t);
                  String retry = trailers == null ? null : trailers.get(RETRY_AFTER);
                  if (retry != null) {
                    // Deferred before anything was read: keep the backlog, come back as told.
                    deferred.incrementAndGet();
                    long wait = Long.parseLong(retry);
                    wait += java.util.concurrent.ThreadLocalRandom.current().nextLong(wait / 5 + 1);
                    synchronized (Host.this) {
                      call = null;
                      notBefore = System.currentTimeMillis() + wait;
                    }
                    ScheduledExecutorService e = exec;
                    if (e != null && !e.isShutdown()) {
                      e.schedule(Host.this::reconnect, wait, TimeUnit.MILLISECONDS);
                    }
                    return;
                  }
                  if (st.getCode() != Status.Code.CANCELLED) {
                    long n = streamErrors.incrementAndGet();
                    String d = st.getDescription();
                    if (d != null && d.contains("buffer full")) bufferFull.incrementAndGet();
                    if (n <= 3 || Long.bitCount(n) == 1) {
                      out.printf("simulate: stream of %s failed (%d so far): %s%n", name, n, st);
                      out.flush();
                    }
                  }
                  synchronized (Host.this) {
                    call = null;
                    // Reports of a broken stream are not replayed here (a real agent would).
                    unacked.clear();
                    backlog.clear();
                  }
                }

                @Override
                public void onCompleted() {
                  synchronized (Host.this) {
                    call = null;
                  }
                }
              });
    }

    synchronized void reconnect() {
      if (call == null) open();
      drain();
    }

    synchronized void tick() {
      if (call == null && System.currentTimeMillis() >= notBefore) open();
      long now = System.currentTimeMillis();
      HostReport r =
          HostReport.newBuilder().setSeq(++seq).setSample(samples.next(now, !sysctlsSent)).build();
      sysctlsSent = true;
      unacked.addLast(new long[] {r.getSeq(), now});
      if (backlog.size() >= 100) {
        backlog.pollFirst();
      }
      backlog.addLast(r);
      drain();
    }

    synchronized void drain() {
      while (call != null && call.isReady() && !backlog.isEmpty()) {
        call.onNext(backlog.pollFirst());
        sent.incrementAndGet();
      }
      if (!backlog.isEmpty()) heldBack.incrementAndGet();
    }

    void acked(ReportAck ack) {
      long now = System.currentTimeMillis();
      if (ack.hasRejected()) rejected.incrementAndGet();
      AtomicLongArray hist = latency;
      synchronized (this) {
        if (!everAcked) {
          everAcked = true;
          if (hostsAcked.incrementAndGet() == hosts) allAckedNanos = System.nanoTime();
        }
        while (!unacked.isEmpty() && unacked.peekFirst()[0] <= ack.getAckedSeq()) {
          long[] u = unacked.pollFirst();
          acked.incrementAndGet();
          int ms = (int) Math.min(60_000, Math.max(0, now - u[1]));
          hist.incrementAndGet(ms);
          if (now >= measureFromMs) measured.incrementAndGet(ms);
        }
      }
    }

    synchronized void close() {
      if (call != null) call.onCompleted();
    }

    synchronized int unackedCount() {
      return unacked.size();
    }
  }

  /** Runs for {@code duration}, printing a line every 10 s and a summary; returns 0. */
  public int run(Duration duration) throws InterruptedException {
    List<ManagedChannel> channels = new ArrayList<>();
    int channelCount = (hosts + hostsPerChannel - 1) / hostsPerChannel;
    for (int i = 0; i < channelCount; i++) {
      channels.add(
          NettyChannelBuilder.forTarget(target)
              .usePlaintext()
              .keepAliveTime(30, TimeUnit.SECONDS)
              .build());
    }
    SplittableRandom random = new SplittableRandom(seed);
    List<Host> fleet = new ArrayList<>(hosts);
    for (int i = 0; i < hosts; i++) {
      String name = String.format("sim-%05d", i);
      fleet.add(
          new Host(
              name,
              new SimulatedSamples(name, processes, random.split()),
              channels.get(i % channelCount)));
    }
    ScheduledExecutorService exec =
        Executors.newScheduledThreadPool(
            1, r -> Thread.ofPlatform().daemon(true).name("simulate").unstarted(r));
    this.exec = exec;
    long intervalMs = interval.toMillis();
    List<ScheduledFuture<?>> ticks = new ArrayList<>(hosts);
    for (int i = 0; i < hosts; i++) {
      Host h = fleet.get(i);
      long offset = intervalMs * i / hosts;
      ticks.add(exec.scheduleAtFixedRate(h::tick, offset, intervalMs, TimeUnit.MILLISECONDS));
    }
    out.printf(
        "simulate: %d hosts every %d ms to %s over %d channels for %s%n",
        hosts, intervalMs, target, channelCount, duration);
    out.flush();
    long start = System.nanoTime();
    measureFromMs = System.currentTimeMillis() + measureAfter.toMillis();
    long end = start + duration.toNanos();
    long lastSent = 0;
    long lastAcked = 0;
    while (System.nanoTime() < end) {
      long wait = Math.min(TimeUnit.SECONDS.toNanos(10), end - System.nanoTime());
      TimeUnit.NANOSECONDS.sleep(wait);
      long s = sent.get();
      long a = acked.get();
      double secs = wait / 1e9;
      report(start, (s - lastSent) / secs, (a - lastAcked) / secs, fleet);
      lastSent = s;
      lastAcked = a;
    }
    for (ScheduledFuture<?> t : ticks) t.cancel(false);
    exec.shutdown();
    exec.awaitTermination(10, TimeUnit.SECONDS);
    long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < drainUntil && fleet.stream().anyMatch(h -> h.unackedCount() > 0)) {
      TimeUnit.MILLISECONDS.sleep(100);
    }
    for (Host h : fleet) h.close();
    for (ManagedChannel c : channels) c.shutdown();
    for (ManagedChannel c : channels) c.awaitTermination(5, TimeUnit.SECONDS);
    double total = (System.nanoTime() - start) / 1e9;
    out.printf(
        "simulate: done: sent %d, acked %d, rejected %d, stream errors %d (buffer full %d), deferred %d, unacked %d, %.0f reports/s over %.0f s, every host acked after %s%n",
        sent.get(),
        acked.get(),
        rejected.get(),
        streamErrors.get(),
        bufferFull.get(),
        deferred.get(),
        fleet.stream().mapToLong(Host::unackedCount).sum(),
        acked.get() / total,
        total,
        allAckedNanos < 0
            ? "never (" + hostsAcked.get() + " of " + hosts + ")"
            : String.format("%.1f s", (allAckedNanos - start) / 1e9));
    long n = 0;
    for (int i = 0; i < measured.length(); i++) n += measured.get(i);
    long max = 0;
    for (int i = measured.length() - 1; i >= 0; i--) {
      if (measured.get(i) > 0) {
        max = i;
        break;
      }
    }
    out.printf(
        "simulate: acks from %d s on: %d, ack_latency p50=%d ms p99=%d ms p99.9=%d ms max=%d ms%n",
        measureAfter.toSeconds(),
        n,
        percentile(measured, n, 0.50),
        percentile(measured, n, 0.99),
        percentile(measured, n, 0.999),
        n == 0 ? -1 : max);
    out.flush();
    return 0;
  }

  private void report(long start, double sentPerSec, double ackedPerSec, List<Host> fleet) {
    AtomicLongArray hist = latency;
    latency = new AtomicLongArray(60_001);
    long n = 0;
    for (int i = 0; i < hist.length(); i++) n += hist.get(i);
    long p50 = percentile(hist, n, 0.50);
    long p99 = percentile(hist, n, 0.99);
    long unacked = 0;
    for (Host h : fleet) unacked += h.unackedCount();
    out.printf(
        "t=%ds sent/s=%.0f acked/s=%.0f unacked=%d rejected=%d stream_errors=%d buffer_full=%d deferred=%d hosts_acked=%d held_back=%d ack_latency p50=%d ms p99=%d ms%n",
        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start),
        sentPerSec,
        ackedPerSec,
        unacked,
        rejected.get(),
        streamErrors.get(),
        bufferFull.get(),
        deferred.get(),
        hostsAcked.get(),
        heldBack.get(),
        p50,
        p99);
    out.flush();
  }

  private static long percentile(AtomicLongArray hist, long n, double q) {
    if (n == 0) return -1;
    long rank = (long) Math.ceil(q * n);
    long seen = 0;
    for (int i = 0; i < hist.length(); i++) {
      seen += hist.get(i);
      if (seen >= rank) return i;
    }
    return hist.length() - 1;
  }
}

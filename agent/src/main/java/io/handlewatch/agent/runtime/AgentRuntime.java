package io.handlewatch.agent.runtime;

import io.grpc.ManagedChannel;
import io.handlewatch.agent.metrics.AgentMetrics;
import io.handlewatch.agent.sample.AgentBuild;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.agent.transport.CollectorChannels;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.agent.transport.CollectorTargets;
import io.handlewatch.agent.transport.KeepAlive;
import io.handlewatch.agent.transport.LinkSecurity;
import io.handlewatch.agent.transport.SendStamp;
import io.handlewatch.agent.transport.SequenceFile;
import io.handlewatch.agent.transport.SysctlCadence;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The agent daemon, wired: the sequence file and the spool, the channel and the link to the
 * collector, the optional metrics endpoint, and the sampler's schedule. {@code run} builds one from
 * its flags, starts it and stops it from the JVM's shutdown hook; tests start and stop one in
 * process. Settings are checked by whoever makes them (the command names its flags); this class
 * only puts the parts together in the order the delivery guarantee needs.
 */
public final class AgentRuntime implements AutoCloseable {
  private static final System.Logger log = System.getLogger(AgentRuntime.class.getName());

  /**
   * What the daemon is set up with.
   *
   * @param collector the collectors' address as the operator gave it, for logs
   * @param targets that address, parsed
   * @param keepAlive pings of an idle connection
   * @param security TLS and token of the link
   * @param stateDir where the sequence file is kept
   * @param spool where and how reports wait for their acknowledgement
   * @param interval time between samples
   * @param metricsAddress where the agent's own Prometheus endpoint listens; null for none
   * @param procRoot the procfs the sampler reads, for this boot's id
   * @param hostName the host name reported instead of the kernel's, for logs; null for none
   */
  public record Settings(
      String collector,
      CollectorTargets targets,
      KeepAlive keepAlive,
      LinkSecurity security,
      Path stateDir,
      SpoolConfig spool,
      Duration interval,
      InetSocketAddress metricsAddress,
      Path procRoot,
      String hostName) {}

  private final Settings settings;
  private final Sampler sampler;
  private final AtomicLong samplesFailed = new AtomicLong();
  private final AtomicLong ticksSkipped = new AtomicLong();
  private final CountDownLatch stopped = new CountDownLatch(1);

  private boolean running;
  private SequenceFile seq;
  private DiskSpool queue;
  private ScheduledExecutorService linkExec;
  private ScheduledFuture<?> sampling;
  private ScheduledFuture<?> flushing;
  private ManagedChannel channel;
  private CollectorLink link;
  private AgentMetrics metrics;
  private int metricsPort = -1;
  private long samplesStarted; // on the link's thread only
  private volatile Runnable linkLoop; // startWithoutLinkThread() to runLinkOnThisThread()

  public AgentRuntime(Settings settings, Sampler sampler) {
    this.settings = settings;
    this.sampler = sampler;
  }

  /**
   * Opens the spool, connects and begins sampling; returns at once. The link runs on a thread of
   * its own.
   *
   * @throws IOException when the metrics endpoint cannot listen on its address
   * @throws IllegalArgumentException when the link cannot be set up (TLS files, targets)
   */
  public void start() throws IOException {
    start(CollectorChannels.linkThread("handlewatch-link"));
  }

  /**
   * Starts as {@link #start()} does, then runs the link (and with it the samples) on the calling
   * thread; returns once {@link #stop} has finished. The daemon's main thread, which would
   * otherwise only wait, becomes the link's thread: one thread fewer on every host (BENCHMARKS.md,
   * "Agent daemon footprint"). The calling thread is renamed {@code handlewatch-link}.
   *
   * @throws IOException when the metrics endpoint cannot listen on its address
   * @throws IllegalArgumentException when the link cannot be set up (TLS files, targets)
   */
  public void runOnThisThread() throws IOException, InterruptedException {
    startWithoutLinkThread();
    runLinkOnThisThread();
  }

  /**
   * The first half of {@link #runOnThisThread}: starts as {@link #start()} does, but with no thread
   * for the link: its loop waits until {@link #runLinkOnThisThread} runs it on the thread that
   * calls that, and samples and the connection's I/O wait until then. The launcher starts the
   * daemon this way on a thread of its own, and runs the link on its main thread once the command
   * line's class loader is gone (io.handlewatch.agent.launch.Main).
   *
   * @throws IOException when the metrics endpoint cannot listen on its address
   * @throws IllegalArgumentException when the link cannot be set up (TLS files, targets)
   */
  public void startWithoutLinkThread() throws IOException, InterruptedException {
    CompletableFuture<Runnable> loop = new CompletableFuture<>();
    ScheduledExecutorService exec = CollectorChannels.linkLoop(loop::complete);
    start(exec);
    // The loop is handed over when its first task comes; start() queues some, this one for sure.
    exec.execute(() -> {});
    try {
      linkLoop = loop.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("the link's event loop was not handed over", e);
    }
  }

  /**
   * The second half of {@link #runOnThisThread}, after {@link #startWithoutLinkThread} (on any
   * thread): runs the link on the calling thread, renamed {@code handlewatch-link}, and returns
   * once {@link #stop} has finished.
   */
  public void runLinkOnThisThread() throws InterruptedException {
    Runnable body = linkLoop;
    if (body == null) throw new IllegalStateException("startWithoutLinkThread() first");
    linkLoop = null;
    Thread.currentThread().setName("handlewatch-link");
    // Returns when the loop is shut down (stop()); on SIGTERM the JVM ends after the shutdown
    // hook's stop() whether or not it has.
    body.run();
    awaitStopped();
  }

  /**
   * Stops this runtime from a JVM shutdown hook (SIGTERM, System.exit). Registered before the
   * start, so a stop signal that comes while starting still stops cleanly.
   */
  public void stopOnShutdown() {
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(this::stop));
  }

  private synchronized void start(ScheduledExecutorService linkThread) throws IOException {
    if (running || stopped.getCount() == 0) {
      throw new IllegalStateException("an agent runtime starts once");
    }
    seq = new SequenceFile(settings.stateDir());
    queue = DiskSpool.open(settings.spool());
    if (!queue.onDisk()) {
      log.log(
          Level.ERROR,
          "--spool-dir {0} cannot be used (see above): reports are kept in memory only"
              + " (--queue-max-reports, --queue-max-bytes) until it can",
          settings.spool().dir());
    }
    // Numbering continues above every report the spool holds, whatever the seq file says.
    seq.skipPast(queue.lastSeq());

    linkExec = linkThread;
    try {
      channel =
          CollectorChannels.open(
              settings.targets(), settings.security(), linkExec, settings.keepAlive());
    } catch (IllegalArgumentException e) {
      linkExec.shutdown();
      queue.close();
      throw e;
    }
    link =
        new CollectorLink(
            settings.collector(),
            channel,
            queue,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            CollectorLink.defaultBackoff(),
            linkExec,
            Duration.ofSeconds(30),
            SendStamp.system(bootId(settings.procRoot())));

    InetSocketAddress metricsAt = settings.metricsAddress();
    if (metricsAt != null) {
      metrics = new AgentMetrics(queue, link, samplesFailed::get, ticksSkipped::get);
      try {
        metricsPort = metrics.serve(metricsAt);
      } catch (IOException e) {
        metrics.close();
        metrics = null;
        channel.shutdown();
        linkExec.shutdown();
        queue.close();
        throw e;
      }
      log.log(
          Level.INFO,
          "metrics for Prometheus at http://{0}:{1}/metrics",
          metricsAt.getHostString(),
          Integer.toString(metricsPort));
    }

    // Samples are taken on the link's thread, not one of their own: a thread costs every host of
    // the fleet (BENCHMARKS.md, "Agent daemon footprint"), and the link only waits in between. A
    // sample (0.3 s at 180,000 sockets, 1.2 s the first) delays the acks that come in meanwhile by
    // as much, which the delivery guarantee does not mind: a report leaves the spool on its ack
    // only, whenever that is handled.
    running = true;
    link.start();
    if (settings.spool().fsync() == FsyncPolicy.INTERVAL) {
      flushing = linkExec.scheduleWithFixedDelay(queue::flush, 1, 1, TimeUnit.SECONDS);
    }
    long intervalMs = settings.interval().toMillis();
    long firstDelay = ThreadLocalRandom.current().nextLong(intervalMs);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(firstDelay);
    log.log(
        Level.INFO,
        "agent {4} for {0} streaming to {1} every {2} ms (first sample in {3} ms)",
        settings.hostName() == null ? "this host" : settings.hostName(),
        settings.collector(),
        Long.toString(intervalMs),
        firstDelay,
        AgentBuild.current().describe());
    AtomicLong tick = new AtomicLong();
    sampling =
        linkExec.scheduleAtFixedRate(
            () -> {
              long due = start + TimeUnit.MILLISECONDS.toNanos(intervalMs * tick.getAndIncrement());
              long late = System.nanoTime() - due;
              if (late > TimeUnit.MILLISECONDS.toNanos(intervalMs)) {
                // The previous sample overran: skip this tick rather than sample twice in a row.
                long n = ticksSkipped.incrementAndGet();
                log.log(
                    Level.WARNING, "sample skipped: the previous one ran late ({0} skipped)", n);
                return;
              }
              sampleOnce();
            },
            firstDelay,
            intervalMs,
            TimeUnit.MILLISECONDS);
  }

  private void sampleOnce() {
    try {
      // Before as well as after: HotSpot hands its compiler arenas back to glibc only every 5 s,
      // so what the last sample's compiles freed reaches glibc between samples (NativeHeap).
      NativeHeap.trim();
      // Before the second sample: the agent has started, sampled once and had that report's
      // round trip, and what start-up alone touched can go (StartupPages).
      if (++samplesStarted == 2) StartupPages.releaseOnce();
      HostSample s = sampler.sample();
      s =
          s.toBuilder()
              .setHealth(s.getHealth().toBuilder().setDroppedReports(queue.dropped()))
              .build();
      queue.append(HostReport.newBuilder().setSeq(seq.next()).setSample(s).build());
      link.wake();
      if (metrics != null) metrics.sampled(s.getHealth());
      JavaHeap.collectIfGrown();
      NativeHeap.trim();
    } catch (RuntimeException e) {
      long n = samplesFailed.incrementAndGet();
      log.log(Level.ERROR, "sample failed ({0} so far), the agent keeps running: " + e, n);
    }
  }

  /**
   * Stops sampling, gives the acks in flight a short grace, closes the link and the spool and logs
   * what is left. What the collector has not acknowledged stays in the spool for the next start.
   * Does nothing the second time, or when the runtime never started.
   */
  public synchronized void stop() {
    if (!running) return;
    running = false;
    // A sample under way finishes and is spooled before the stop line counts what is left: else
    // its seq is reported but the report lost. The link's thread runs one task at a time, so a
    // no-op queued behind the sample returns once it is spooled.
    sampling.cancel(false);
    if (flushing != null) flushing.cancel(false);
    try {
      linkExec.submit(() -> {}).get(3, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      log.log(Level.WARNING, "stopping: a sample still under way after 3 s is not waited for");
    } catch (ExecutionException e) {
      throw new IllegalStateException("a no-op failed on the link's thread", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (queue.size() > 0 && link.isConnected() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
      try {
        Thread.sleep(20); // a bounded grace for in-flight acks, not a sync
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    link.close();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
        log.log(Level.WARNING, "stopping: the channel to the collector did not close within 2 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Nothing runs on the link's thread after its channel; ending the loop lets run's main thread,
    // when it is the link's thread, return.
    CollectorChannels.endLinkLoop(linkExec);
    log.log(
        Level.INFO,
        "stopping: last report seq {0}, {1} reports unacknowledged (kept in the spool), {2}"
            + " dropped, {3} samples failed",
        Long.toString(seq.last()),
        queue.size(),
        queue.dropped(),
        samplesFailed.get());
    queue.close();
    if (metrics != null) metrics.close();
    stopped.countDown();
  }

  @Override
  public void close() {
    stop();
  }

  /** Blocks until {@link #stop} has finished. */
  public void awaitStopped() throws InterruptedException {
    stopped.await();
  }

  /** The seq of the last report taken (0 before the first). */
  public synchronized long lastSeq() {
    return seq == null ? 0 : seq.last();
  }

  /** Reports spooled and not yet acknowledged by the collector. */
  public synchronized int unacknowledged() {
    return queue == null || !running ? 0 : queue.size();
  }

  /** The metrics endpoint's port, or -1 when it is off. */
  public synchronized int metricsPort() {
    return metricsPort;
  }

  /** Samples that failed since the start; the agent went on after each. */
  public long samplesFailed() {
    return samplesFailed.get();
  }

  /**
   * This boot's id, which tells the sender whether a spooled sample's monotonic time still holds.
   */
  private static String bootId(Path procRoot) {
    try {
      String id = new ProcFs(procRoot).readSmall("sys/kernel/random/boot_id").strip();
      return id.isEmpty() ? null : id;
    } catch (IOException e) {
      log.log(
          Level.WARNING,
          "cannot read {0}/sys/kernel/random/boot_id ({1}): sample ages are told by the wall"
              + " clock only",
          procRoot,
          e.toString());
      return null;
    }
  }
}

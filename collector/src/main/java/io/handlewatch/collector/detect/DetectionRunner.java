package io.handlewatch.collector.detect;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.codahale.metrics.health.HealthCheck;
import io.dropwizard.lifecycle.Managed;
import io.handlewatch.collector.RecordedTimer;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreListener;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs detection beside ingest without ever slowing it: {@link #stored} (called once the store
 * holds a report) only hands the report to its host's shard. Hosts are spread over {@code
 * detection.shards} shards (one per core by default, at least four), each with its own thread and
 * its own {@link DetectionEngine}: a host always lands on the same shard, so its reports are judged
 * in arrival order by one thread, and everything kept per host (window, incidents, stored verdicts)
 * is confined to that thread. The fleet-wide pieces (sysctl drift, the API's view, the notifiers)
 * are thread-safe. Alert transitions go to the listeners added with {@link #addAlertListener} (the
 * notifiers), verdict points to the store.
 *
 * <p>Nothing is skipped. A shard keeps each host's waiting reports together, hosts in the order
 * their oldest waiting report arrived. Once a shard holds its share of {@code queueCapacity}, a
 * host's new report replaces the ones of that host still waiting: the newest is judged, the older
 * are counted as coalesced ({@code detect.queue.coalesced}) and logged. Detection then lags the
 * fleet by at most one report per host, the window tolerates the gap, and the health check says how
 * far behind it is ({@code detect.lag}).
 *
 * <p>A host new here (another collector behind the same address had it, this one restarted, or it
 * comes back after {@code releaseAfter}) is warmed first: its window and open incidents are read
 * from the store by a {@link WindowWarmer}, its reports wait meanwhile (coalesced the same way
 * beyond the shard's share of {@code queueCapacity}), and once the read is back the shard's thread
 * rebuilds the window and judges the waiting reports in order. If the store cannot answer, the host
 * starts cold and the log says why. If it only answers late (after {@code warmUp.timeout}, within
 * {@code warmUp.lateFor}), the host starts cold at the timeout, the shard keeps the reports it
 * judges from then on, and once the read is back it rebuilds the window from the history read
 * followed by those reports: what the window would hold had the read been in time. Nothing is
 * judged twice, no sample counted twice (the history ends before the first report judged cold), and
 * the host is cold only while its read took ({@code detect.warmup.late}, {@code
 * detect.warmup.late.failed}). An incident paged while the host was cold stays the same incident
 * across the rebuild, with the baseline it grew from ({@link DetectionEngine#warm}).
 *
 * <p>Metrics: {@code detect.evaluations}, {@code detect.cost} (per report), {@code
 * detect.queue.coalesced}, {@code detect.queue.depth}, {@code detect.lag} (ms the oldest waiting
 * report has waited), {@code detect.latency} (the store's ack to judged, per report run), {@code
 * detect.shards}, {@code detect.alerts.firing}, {@code
 * detect.transitions.firing|resolved|released}, {@code detect.verdicts.<kind>.<severity>}, {@code
 * detect.points.failed}, {@code detect.warmup.hosts|empty|cold|reports|incidents}, {@code
 * detect.warmup.latency}, {@code detect.warmup.waiting} (reads queued), {@code detect.warmup.paced}
 * (reads that went one at a time because the store was behind), {@code detect.warmup.batch} (hosts
 * per store read), {@code detect.warmup.resumed} (a new host's first report stored to judged, its
 * window read back or started cold), {@code detect.warmup.late} (hosts whose history was merged
 * after they had started cold), {@code detect.warmup.late.failed} (late reads that failed, or whose
 * host judged more than {@value #MAX_SINCE_COLD} reports meanwhile).
 */
public final class DetectionRunner implements Managed, StoreListener {
  private static final Logger log = LoggerFactory.getLogger(DetectionRunner.class);

  /**
   * Reports kept per host judged cold while its read goes on: far more than {@code warmUp.lateFor}
   * brings at any usual interval (30 at 10 s for 5 minutes); a host that sends more stays cold
   * rather than hold memory without bound.
   */
  static final int MAX_SINCE_COLD = 256;

  private final Shard[] shards;
  private final DetectionView view;
  private final Clock clock;
  private final Duration sweepEvery;
  private final Duration maxLag;
  private final List<Consumer<Alert>> listeners = new CopyOnWriteArrayList<>();
  private final List<WarmUpListener> warmUpListeners = new CopyOnWriteArrayList<>();
  private final MetricRegistry metrics;
  private final Meter evaluations;
  private final Timer cost;
  private final Counter coalesced;

  /** The store's ack to the report judged ({@code detect.latency}), oldest of each host's run. */
  private final Timer judgedAfterStore;

  private final Counter pointsFailed;
  private final Counter firing;
  private final Counter resolved;
  private final Counter released;
  private final WindowWarmer warmer;
  private final Counter warmedHosts;
  private final Counter coldHosts;

  /** Hosts read back with nothing stored in their window: new to the store, not only to us. */
  private final Counter warmedEmpty;

  private final Counter warmedReports;
  private final Counter takenOver;
  private final Timer warmLatency;
  private final Counter warmedLate;
  private final Counter lateFailed;

  /** A new host's first report stored to judged with its window rebuilt (or started cold). */
  private final Timer resumed;

  private final AtomicLong coldSinceLog = new AtomicLong();
  private final Map<String, Counter> verdictCounters = new ConcurrentHashMap<>();
  private final AtomicLong coalescedSinceLog = new AtomicLong();
  private volatile boolean running;

  /**
   * A detector for a store whose writes are not bounded by an admission budget below its buffer.
   */
  public DetectionRunner(
      DetectionFactory config, SampleStore store, MetricRegistry metrics, Clock clock) {
    this(config, store, metrics, clock, 1.0);
  }

  /**
   * @param admissionShare the share of the store's write buffer that ingest's admission budget lets
   *     reports fill (1 for a store without a buffer): the warm-up paces its reads once {@code
   *     warmUp.paceAbove} of it waits
   */
  public DetectionRunner(
      DetectionFactory config,
      SampleStore store,
      MetricRegistry metrics,
      Clock clock,
      double admissionShare) {
    this.metrics = metrics;
    this.clock = clock;
    this.sweepEvery = Duration.ofMillis(Math.max(1000, config.resolution.toMilliseconds()));
    this.maxLag = Duration.ofMillis(config.maxLag.toMilliseconds());
    this.evaluations = metrics.meter("detect.evaluations");
    this.cost = metrics.timer("detect.cost");
    this.coalesced = metrics.counter("detect.queue.coalesced");
    this.judgedAfterStore = RecordedTimer.of(metrics, "detect.latency");
    this.pointsFailed = metrics.counter("detect.points.failed");
    this.firing = metrics.counter("detect.transitions.firing");
    this.resolved = metrics.counter("detect.transitions.resolved");
    this.released = metrics.counter("detect.transitions.released");
    this.warmedHosts = metrics.counter("detect.warmup.hosts");
    this.coldHosts = metrics.counter("detect.warmup.cold");
    this.warmedEmpty = metrics.counter("detect.warmup.empty");
    this.warmedReports = metrics.counter("detect.warmup.reports");
    this.takenOver = metrics.counter("detect.warmup.incidents");
    this.warmLatency = metrics.timer("detect.warmup.latency");
    this.warmedLate = metrics.counter("detect.warmup.late");
    this.lateFailed = metrics.counter("detect.warmup.late.failed");
    this.resumed = metrics.timer("detect.warmup.resumed");
    this.warmer =
        config.warmUp.enabled
            ? new WindowWarmer(
                store,
                config,
                admissionShare,
                metrics.counter("detect.warmup.paced"),
                metrics.histogram("detect.warmup.batch"))
            : null;
    int n = config.shardCount();
    int share = Math.max(1, Math.ceilDiv(config.queueCapacity, n));
    DetectionConfig judging = config.build();
    FleetDrift drift = new FleetDrift(judging.drift());
    this.view = new DetectionView(drift);
    this.shards = new Shard[n];
    for (int i = 0; i < n; i++) {
      DetectionEngine engine =
          new DetectionEngine(
              judging,
              this::transition,
              points -> write(store, points),
              h -> known(store, h),
              drift,
              view);
      shards[i] = new Shard(i, engine, share);
    }
    metrics.gauge("detect.queue.depth", () -> this::depth);
    metrics.gauge("detect.lag", () -> () -> lag().toMillis());
    metrics.gauge("detect.shards", () -> () -> shards.length);
    metrics.gauge("detect.alerts.firing", () -> this::firingNow);
    metrics.gauge("detect.warmup.waiting", () -> () -> warmer == null ? 0 : warmer.waiting());
  }

  /** Adds a receiver of alert transitions (a notifier). Called on the shards' threads. */
  public void addAlertListener(Consumer<Alert> listener) {
    listeners.add(listener);
  }

  /**
   * Adds a receiver of warm-up news: which hosts wait for their history, and when the detector
   * speaks for their incidents again (the alert dispatcher keeps their alerts alive meanwhile).
   */
  public void addWarmUpListener(WarmUpListener listener) {
    warmUpListeners.add(listener);
  }

  private void waiting(String host) {
    tellWarmUp(host, WarmUpListener::waiting);
  }

  private void decided(String host) {
    tellWarmUp(host, WarmUpListener::decided);
  }

  private void tellWarmUp(String host, BiConsumer<WarmUpListener, String> news) {
    for (WarmUpListener l : warmUpListeners) {
      try {
        news.accept(l, host);
      } catch (RuntimeException e) {
        log.error("warm-up listener failed on host {}", host, e);
      }
    }
  }

  /** The read side for the API. */
  public DetectionView view() {
    return view;
  }

  @Override
  public void stored(HostReport report) {
    String host = ReportPoints.hostOf(report);
    shardOf(host).offer(host, report);
  }

  private Shard shardOf(String host) {
    int h = host.hashCode();
    return shards[Math.floorMod(h ^ (h >>> 16), shards.length)];
  }

  /** Reports waiting for a shard, those of hosts being warmed included. */
  int depth() {
    int n = 0;
    for (Shard s : shards) n += s.depth + s.held;
    return n;
  }

  /** How long the oldest report still waiting for its shard has waited; zero when none waits. */
  public Duration lag() {
    long now = System.nanoTime();
    long worst = 0;
    for (Shard s : shards) {
      long since = s.oldestSince();
      if (since != 0) worst = Math.max(worst, now - since);
    }
    return Duration.ofNanos(worst);
  }

  private int firingNow() {
    int n = 0;
    for (Shard s : shards) n += s.openIncidents;
    return n;
  }

  /**
   * Healthy while detection keeps up: unhealthy once the oldest waiting report has waited longer
   * than {@code detection.maxLag}. Says how far behind it is and what it coalesced.
   */
  public HealthCheck healthCheck() {
    return new HealthCheck() {
      @Override
      protected Result check() {
        Duration lag = lag();
        String state =
            String.format(
                java.util.Locale.ROOT,
                "%d shards, %d reports waiting, lag %.1f s, %d reports judged, %d coalesced into a"
                    + " newer report of their host",
                shards.length,
                depth(),
                lag.toMillis() / 1000.0,
                evaluations.getCount(),
                coalesced.getCount());
        return lag.compareTo(maxLag) > 0
            ? Result.unhealthy("detection lags ingest: " + state)
            : Result.healthy(state);
      }
    };
  }

  @Override
  public void start() {
    running = true;
    for (Shard s : shards) {
      s.thread = Thread.ofPlatform().name("detector-" + s.index).daemon(true).start(s::loop);
    }
  }

  @Override
  public void stop() throws InterruptedException {
    running = false;
    for (Shard s : shards) {
      Thread t = s.thread;
      if (t != null) t.interrupt();
    }
    for (Shard s : shards) {
      Thread t = s.thread;
      if (t != null) t.join(10_000);
    }
    if (warmer != null) warmer.close();
  }

  private void coalesce(String host, int older, HostReport newest, int waiting) {
    coalesced.inc(older);
    long n = coalescedSinceLog.addAndGet(older);
    if (Long.highestOneBit(n) != Long.highestOneBit(n - older)) {
      log.warn(
          "detector behind ({} reports waiting): host {} report seq={} replaces {} older report(s)"
              + " of that host not yet judged ({} coalesced since detection last caught up)",
          waiting,
          host,
          newest.getSeq(),
          older,
          n);
    }
  }

  /** One host's reports waiting for its shard, oldest first. */
  private static final class Box {
    final String host;

    /** When its oldest waiting report arrived (System.nanoTime). */
    final long since;

    final List<HostReport> reports = new ArrayList<>(2);

    Box(String host, long since) {
      this.host = host;
      this.since = since;
    }
  }

  /**
   * The hosts of one shard, its engine and its thread. {@link #offer} runs on ingest threads, under
   * the lock; everything else on the shard's own thread.
   */
  private final class Shard {
    final int index;
    final DetectionEngine engine;
    final int capacity;
    final ReentrantLock lock = new ReentrantLock();
    final Condition ready = lock.newCondition();

    /** Hosts with reports waiting, in the order their oldest waiting report arrived. */
    final ArrayDeque<Box> order = new ArrayDeque<>();

    final Map<String, Box> boxes = new HashMap<>();
    int queued;
    boolean wake;
    volatile int depth;

    /** Reports of hosts being warmed, in arrival order; the shard's thread only. */
    final Map<String, List<HostReport>> waiting = new HashMap<>();

    /** When the oldest report of each host being warmed was stored (System.nanoTime). */
    final Map<String, Long> waitingSince = new HashMap<>();

    volatile int held;

    /** Reads back from the warm-up threads, applied on the shard's thread. */
    final ConcurrentLinkedQueue<WindowWarmer.Warmth> warmed = new ConcurrentLinkedQueue<>();

    /** Late reads back (their host started cold at its timeout), applied on the shard's thread. */
    final ConcurrentLinkedQueue<WindowWarmer.Warmth> late = new ConcurrentLinkedQueue<>();

    /**
     * Hosts started cold whose read goes on: the reports judged since, in order, serialized (a
     * fleet of them waits at once after a restart). The shard's thread only.
     */
    final Map<String, List<byte[]>> sinceCold = new HashMap<>();

    /**
     * Late reads that came back before their host's timeout was applied (the timeout's callback and
     * the late answer run on different threads): applied right after it. The shard's thread.
     */
    final Map<String, WindowWarmer.Warmth> lateFirst = new HashMap<>();

    volatile int openIncidents;
    volatile Thread thread;

    Shard(int index, DetectionEngine engine, int capacity) {
      this.index = index;
      this.engine = engine;
      this.capacity = capacity;
    }

    void offer(String host, HostReport r) {
      int older = 0;
      int waitingNow;
      lock.lock();
      try {
        Box b = boxes.get(host);
        if (b == null) {
          b = new Box(host, System.nanoTime());
          boxes.put(host, b);
          order.add(b);
        } else if (queued >= capacity) {
          older = b.reports.size();
          queued -= older;
          b.reports.clear();
        }
        b.reports.add(r);
        queued++;
        waitingNow = queued;
        depth = queued;
        ready.signal();
      } finally {
        lock.unlock();
      }
      if (older > 0) coalesce(host, older, r, waitingNow);
    }

    /** The next host's waiting reports; null after {@code timeoutMs} or when woken. */
    Box take(long timeoutMs) throws InterruptedException {
      long nanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
      lock.lock();
      try {
        while (order.isEmpty() && !wake) {
          if (nanos <= 0) return null;
          nanos = ready.awaitNanos(nanos);
        }
        wake = false;
        Box b = order.poll();
        if (b == null) return null;
        boxes.remove(b.host);
        queued -= b.reports.size();
        depth = queued;
        if (queued == 0) coalescedSinceLog.set(0);
        return b;
      } finally {
        lock.unlock();
      }
    }

    long oldestSince() {
      lock.lock();
      try {
        Box b = order.peek();
        return b == null ? 0 : b.since;
      } finally {
        lock.unlock();
      }
    }

    void wake() {
      lock.lock();
      try {
        wake = true;
        ready.signal();
      } finally {
        lock.unlock();
      }
    }

    void loop() {
      Instant nextSweep = clock.instant().plus(sweepEvery);
      while (running) {
        try {
          Box b = take(sweepEvery.toMillis());
          if (b != null) {
            boolean judged = false;
            for (HostReport r : b.reports) judged |= accept(r, b.since);
            // Store ack to judged, for the oldest report of the run (the longest wait); a run held
            // for its host's warm-up is timed once the warm-up is back and it is judged.
            if (judged) judgedAfterStore.update(System.nanoTime() - b.since, TimeUnit.NANOSECONDS);
          }
          for (WindowWarmer.Warmth w; (w = warmed.poll()) != null; ) warmed(w);
          for (WindowWarmer.Warmth w; (w = late.poll()) != null; ) warmedLate(w);
          Instant now = clock.instant();
          if (!now.isBefore(nextSweep)) {
            engine.sweep(now);
            openIncidents = engine.firing();
            nextSweep = now.plus(sweepEvery);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (RuntimeException e) {
          log.error("detector shard {}: sweep failed, continuing", index, e);
        }
      }
    }

    /**
     * A report taken off the shard: judged now (true), or held while its host's window is read.
     *
     * @param since when the report's run was stored (System.nanoTime)
     */
    private boolean accept(HostReport r, long since) {
      if (warmer != null) {
        String host = ReportPoints.hostOf(r);
        List<HostReport> list = waiting.get(host);
        if (list != null) {
          hold(host, list, r);
          return false;
        }
        if (engine.isNew(host, ReportPoints.timeOf(r))) {
          if (warmer.submit(host, ReportPoints.timeOf(r), this::readBack, this::readBackLate)) {
            list = new ArrayList<>();
            waiting.put(host, list);
            waitingSince.put(host, since);
            hold(host, list, r);
            waiting(host);
            return false;
          }
          cold(host, "too many hosts wait for a read (detection.warmUp.maxWaiting)");
        }
      }
      evaluate(r);
      return true;
    }

    private void hold(String host, List<HostReport> list, HostReport r) {
      if (held >= capacity && !list.isEmpty()) {
        // The shard's bound, and the same shedding: the host's newest report is the one judged.
        int older = list.size();
        list.clear();
        held -= older;
        coalesce(host, older, r, held);
      }
      list.add(r);
      held++;
    }

    /** On a warm-up thread: hand the read to the shard's thread, and wake it. */
    private void readBack(WindowWarmer.Warmth w) {
      warmed.add(w);
      wake();
    }

    /** On a warm-up thread: a read that answered after its host's timeout. */
    private void readBackLate(WindowWarmer.Warmth w) {
      late.add(w);
      wake();
    }

    /**
     * On the shard's thread: a late read's history goes before the reports judged since the host
     * started cold, and the window is rebuilt from both, as if the read had come in time.
     */
    private void warmedLate(WindowWarmer.Warmth w) {
      List<byte[]> since = sinceCold.remove(w.host());
      if (since == null) {
        if (waiting.containsKey(w.host())) lateFirst.put(w.host(), w);
        return;
      }
      if (w.failed()) {
        lateFailed.inc();
        decided(w.host());
        log.debug("host {}: late warm-up read failed, stays cold: {}", w.host(), w.failure());
        return;
      }
      List<HostReport> judged = new ArrayList<>(since.size());
      java.util.Set<Instant> times = new java.util.HashSet<>();
      for (byte[] b : since) {
        try {
          HostReport r = HostReport.parseFrom(b);
          judged.add(r);
          times.add(ReportPoints.timeOf(r));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          // Our own serialization: cannot happen; if it did, a partial rebuild would be wrong.
          throw new IllegalStateException("host " + w.host() + ": kept report unreadable", e);
        }
      }
      Instant first = judged.isEmpty() ? Instant.MAX : ReportPoints.timeOf(judged.getFirst());
      List<HostReport> merged = new ArrayList<>(w.history().size() + judged.size());
      for (HostReport r : w.history()) {
        // The history ends before the first report judged cold; a replay judged since (older than
        // that) may be stored and read back too: counted once, as judged.
        Instant t = ReportPoints.timeOf(r);
        if (t.isBefore(first) && !times.contains(t)) merged.add(r);
      }
      int read = merged.size();
      merged.addAll(judged);
      engine.warm(w.host(), merged, w.incidents());
      // Before any report is judged on the rebuilt window: a transition it makes (a takeover that
      // escalates resolves the old labels) must come after the last keep-alive, never before.
      decided(w.host());
      warmedLate.inc();
      warmedReports.inc(read);
      takenOver.inc(w.incidents().size());
      log.debug(
          "host {}: window warmed late from the store: {} reports read in {} ms, before {} judged"
              + " cold meanwhile",
          w.host(),
          read,
          w.took().toMillis(),
          judged.size());
    }

    /** Keeps a report judged while its host's late read goes on. */
    private void keepSinceCold(HostReport r) {
      String host = ReportPoints.hostOf(r);
      List<byte[]> since = sinceCold.get(host);
      if (since == null) return;
      if (since.size() >= MAX_SINCE_COLD) {
        sinceCold.remove(host);
        lateFailed.inc();
        decided(host);
        log.warn(
            "host {}: {} reports judged cold while its warm-up read goes on; it stays cold",
            host,
            since.size());
        return;
      }
      since.add(r.toByteArray());
    }

    /** On the shard's thread: rebuild the host's window, then judge the reports that waited. */
    private void warmed(WindowWarmer.Warmth w) {
      warmLatency.update(w.took());
      if (w.failed()) {
        cold(
            w.host(),
            "the store could not answer: "
                + w.failure()
                + (w.lateToCome() ? "; its history merges in when the read answers" : ""));
        if (w.lateToCome()) sinceCold.put(w.host(), new ArrayList<>());
        else decided(w.host());
      } else {
        engine.warm(w.host(), w.history(), w.incidents());
        decided(w.host()); // before the waiting reports are judged, as in warmedLate
        warmedHosts.inc();
        if (w.history().isEmpty()) warmedEmpty.inc();
        warmedReports.inc(w.history().size());
        takenOver.inc(w.incidents().size());
        if (w.unreadable() > 0) {
          log.warn(
              "host {}: {} verdict points name an incident that cannot be read back; skipped",
              w.host(),
              w.unreadable());
        }
        if (w.incidents().isEmpty()) {
          log.debug(
              "host {}: window warmed from the store: {} reports in {} ms",
              w.host(),
              w.history().size(),
              w.took().toMillis());
        } else {
          log.info(
              "host {}: window warmed from the store ({} reports in {} ms); taking over {} open"
                  + " incident(s): {}",
              w.host(),
              w.history().size(),
              w.took().toMillis(),
              w.incidents().size(),
              w.incidents().stream().map(AlertBook.Inherited::dedupKey).toList());
        }
      }
      List<HostReport> list = waiting.remove(w.host());
      Long since = waitingSince.remove(w.host());
      if (list == null) return;
      held -= list.size();
      for (HostReport r : list) evaluate(r);
      WindowWarmer.Warmth early = lateFirst.remove(w.host());
      if (early != null) warmedLate(early);
      if (since != null) {
        long waited = System.nanoTime() - since;
        judgedAfterStore.update(waited, TimeUnit.NANOSECONDS);
        resumed.update(waited, TimeUnit.NANOSECONDS);
      }
    }

    private void evaluate(HostReport r) {
      List<Verdict> verdicts;
      try (Timer.Context t = cost.time()) {
        verdicts = engine.evaluate(r);
      } catch (RuntimeException e) {
        // One bad report must not end detection for the fleet, nor for the rest of its host.
        log.error(
            "detector: evaluation of host {} seq={} failed, continuing",
            ReportPoints.hostOf(r),
            r.getSeq(),
            e);
        return;
      }
      evaluations.mark();
      if (!sinceCold.isEmpty()) keepSinceCold(r);
      openIncidents = engine.firing();
      for (Verdict v : verdicts) {
        verdictCounters
            .computeIfAbsent(
                v.kind().tag() + "." + v.severity().label(),
                k -> metrics.counter("detect.verdicts." + k))
            .inc();
      }
    }
  }

  private void cold(String host, String why) {
    coldHosts.inc();
    long n = coldSinceLog.incrementAndGet();
    if (n == 1 || Long.bitCount(n) == 1) {
      log.warn(
          "host {}: detection window not warmed, starting cold ({} host(s) so far): {}; a leak"
              + " under way pages again only after detection.minHistory",
          host,
          n,
          why);
    }
  }

  private void transition(Alert a) {
    (switch (a.status()) {
          case FIRING -> firing;
          case RESOLVED -> resolved;
          case RELEASED -> released;
        })
        .inc();
    log.info(
        "alert {}: {} {} {} ({}){}",
        a.status().name().toLowerCase(java.util.Locale.ROOT),
        a.labels().get("severity"),
        a.labels().get("alertname"),
        a.dedupKey(),
        a.annotations().get("summary"),
        a.status() == Alert.Status.RELEASED
            ? "; its host stopped reporting here: no longer re-sent, not resolved"
            : "");
    for (Consumer<Alert> l : listeners) {
      try {
        l.accept(a);
      } catch (RuntimeException e) {
        log.error("alert listener failed on {} {}", a.status(), a.dedupKey(), e);
      }
    }
  }

  private void write(SampleStore store, List<StoredPoint> points) {
    store
        .writePoints(points)
        .whenComplete(
            (outcome, failure) -> {
              if (failure != null || outcome.pointsDropped() > 0) {
                pointsFailed.inc(points.size());
                log.warn(
                    "verdict points of host {} not stored ({} points): {}",
                    points.getFirst().host(),
                    points.size(),
                    failure != null ? failure.toString() : outcome.pointsDropped() + " dropped");
              }
            });
  }

  private static Map<String, String> known(SampleStore store, String host) {
    Map<String, String> out = new HashMap<>();
    store
        .latest(host)
        .ifPresent(
            r -> {
              for (Sysctl s : r.getSample().getSysctlsList()) out.put(s.getName(), s.getValue());
            });
    return out;
  }
}

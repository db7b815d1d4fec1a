package io.handlewatch.collector.store.influx;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.influxdb.client.domain.WritePrecision;
import com.influxdb.client.write.Point;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import io.handlewatch.collector.RecordedTimer;
import io.handlewatch.collector.store.LatestReports;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.TagValues;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write pipeline of {@link InfluxStore}. Reports from every agent are batched into
 * line-protocol writes by the writer threads; a report's future completes only once InfluxDB has
 * accepted all its points.
 *
 * <p>Batches grow with load by themselves: a free writer sends what is queued (up to {@code
 * batchSize} points) at once when no other write is in flight; while one is, it waits for more, at
 * most {@code flushInterval} (0: never). With {@code adaptiveFlush} that wait also ends when a
 * write in flight ends or once the typical write time (the median of the last {@value #RECENT}
 * POSTs) has passed: a report is held no longer than a POST usually takes. Under load the POSTs,
 * not a clock, set the batch size. What arrives while every writer is busy waits for one of them,
 * and that wait is timed apart.
 *
 * <p>InfluxDB stalls every write for a while now and then (at a cache snapshot, for one); the POSTs
 * in flight then end together, when the stall does. A report that arrives meanwhile would wait for
 * a writer behind the stall and then be sent after it. So while every writer's POST has been out
 * more than twice the typical write time, and less than one batch is queued (InfluxDB is stalled,
 * not behind), a stall writer (a virtual thread, at most {@code stallWriters} at once) sends what
 * is queued in a POST of its own, which ends with the stall. None starts while a write is being
 * retried (InfluxDB failing, not stalled) or at saturation (a full batch queued).
 *
 * <p>Every response is classified, as Telegraf's InfluxDB output does: 2xx stored; 400/422 the
 * batch is split per report so only the malformed report's points are dropped (and counted); 413
 * the batch is split in halves; 429, 5xx and connection errors are retried with exponential backoff
 * and jitter, honouring Retry-After, for up to {@code maxRetryTime}, after which the reports fail
 * and their agents replay them later; 401/403 fail at once as a configuration error, logged once
 * and shown by the health check.
 */
final class InfluxWriter {
  private static final Logger log = LoggerFactory.getLogger(InfluxWriter.class);
  private static final Duration NO_RETRY_AFTER = Duration.ofMillis(-1);

  /** One report (or, with a null report, points of the detector) waiting to be written. */
  private static final class Pending {
    final HostReport report;
    final List<String> lines;
    final CompletableFuture<WriteOutcome> done;
    final long enqueuedNanos;

    /** When a writer took it off the queue; written and read by that writer only. */
    long takenNanos;

    Pending(HostReport report, List<String> lines, CompletableFuture<WriteOutcome> done) {
      this.report = report;
      this.lines = lines;
      this.done = done;
      this.enqueuedNanos = System.nanoTime();
    }

    String describe() {
      return report == null
          ? "points of host " + host()
          : "report seq=" + report.getSeq() + " of host " + ReportPoints.hostOf(report);
    }

    private String host() {
      String line = lines.isEmpty() ? "" : lines.getFirst();
      int at = line.indexOf(",host=");
      return at < 0 ? "?" : line.substring(at + 6).split("[, ]", 2)[0];
    }
  }

  /** The outcome of one POST, already classified. */
  private record Answer(int status, String body, Optional<Duration> retryAfter) {}

  private final InfluxStoreFactory config;
  private final HttpClient http;
  private final URI writeUri;
  private final String auth;
  private final LatestReports latest;

  /** One write POST under way (not CREATE DATABASE); guarded by {@link #lock}. */
  private static final class Flight {
    final long startedNanos = System.nanoTime();
    final boolean stallWriter;

    /** Set once the POST failed and is retried: InfluxDB is failing, not stalled. */
    volatile boolean retrying;

    Flight(boolean stallWriter) {
      this.stallWriter = stallWriter;
    }
  }

  /** POST durations kept to estimate the typical write time. */
  static final int RECENT = 64;

  /** Guards the queue and everything about the writes in flight; {@link #changed} wakes writers. */
  private final ReentrantLock lock = new ReentrantLock();

  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int queuedPoints;
  private final List<Flight> flights = new ArrayList<>();

  /** Of {@link #flights}, those of the {@code writeConcurrency} writers, and of stall writers. */
  private int baseInFlight;

  private int stallInFlight;

  /** Writes ended so far: a fill wait ends when this moves. */
  private long writesEnded;

  private final long[] recent = new long[RECENT];
  private int recentCount;

  /** Median of {@link #recent}; -1 until there are enough to tell. */
  private long typicalNanos = -1;

  /** A stall writer is started and has not yet taken its batch: at most one at a time. */
  private boolean stallWriterWaiting;

  private final Set<Thread> stallThreads = new HashSet<>();

  private final AtomicInteger bufferedPoints = new AtomicInteger();
  private final List<Thread> writers = new ArrayList<>();
  private volatile boolean closing;
  private volatile String configurationError;
  private volatile boolean databaseReady;

  private final Meter pointsWritten;
  private final Counter pointsDropped;
  private final Meter batches;
  private final Counter retries;
  private final Counter splits;
  private final Timer writeLatency;
  private final Counter bufferRefused;

  /** Per report: from its enqueueing to the start of the POST that carries it (batching wait). */
  private final Timer queueLatency;

  /** Per report: from its enqueueing until a writer took it (every writer was busy). */
  private final Timer writerWait;

  private final Meter stallWrites;

  /**
   * @param auth the Authorization header's value, or null for none
   * @param latest updated with each report once all its points are written
   */
  InfluxWriter(
      InfluxStoreFactory config,
      HttpClient http,
      String auth,
      LatestReports latest,
      MetricRegistry metrics) {
    this.config = config;
    this.http = http;
    this.auth = auth;
    this.latest = latest;
    String base = config.url.replaceAll("/+$", "");
    if (config.api == InfluxStoreFactory.Api.v1) {
      StringBuilder q =
          new StringBuilder(base).append("/write?precision=ms&db=").append(enc(config.database));
      if (InfluxStoreFactory.blankToNull(config.retentionPolicy) != null) {
        q.append("&rp=").append(enc(config.retentionPolicy));
      }
      writeUri = URI.create(q.toString());
    } else {
      writeUri =
          URI.create(
              base
                  + "/api/v2/write?precision=ms&org="
                  + enc(config.org)
                  + "&bucket="
                  + enc(config.bucket));
    }
    this.databaseReady = config.api != InfluxStoreFactory.Api.v1 || !config.createDatabase;
    pointsWritten = metrics.meter("store.influxdb.points.written");
    pointsDropped = metrics.counter("store.influxdb.points.dropped");
    batches = metrics.meter("store.influxdb.batches");
    retries = metrics.counter("store.influxdb.retries");
    splits = metrics.counter("store.influxdb.splits");
    writeLatency = RecordedTimer.of(metrics, "store.influxdb.write.latency");
    bufferRefused = metrics.counter("store.influxdb.buffer.refused");
    queueLatency = RecordedTimer.of(metrics, "store.influxdb.queue.latency");
    writerWait = RecordedTimer.of(metrics, "store.influxdb.queue.writer_wait");
    stallWrites = metrics.meter("store.influxdb.batches.stall_writer");
    metrics.gauge("store.influxdb.buffered.points", () -> bufferedPoints::get);
    for (int i = 0; i < config.writeConcurrency; i++) {
      writers.add(
          Thread.ofPlatform().name("influxdb-writer-" + i).daemon(true).start(this::writeLoop));
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** A point as a line of line protocol, through the client library's Point (its escaping). */
  static String line(StoredPoint p) {
    Point point =
        Point.measurement(p.measurement()).time(p.time().toEpochMilli(), WritePrecision.MS);
    p.tags().forEach((k, v) -> point.addTag(k, TagValues.toLineProtocol(v)));
    for (Map.Entry<String, Object> f : p.fields().entrySet()) {
      Object v = f.getValue();
      if (v instanceof Long l) point.addField(f.getKey(), l);
      else if (v instanceof Double d) point.addField(f.getKey(), d);
      else point.addField(f.getKey(), (String) v);
    }
    return point.toLineProtocol();
  }

  /** Queues a report's points (or, with a null report, other points) for the writers. */
  CompletableFuture<WriteOutcome> enqueue(HostReport report, List<StoredPoint> points) {
    CompletableFuture<WriteOutcome> done = new CompletableFuture<>();
    if (closing) {
      done.completeExceptionally(
          new StoreException(StoreException.Kind.TRANSIENT, "store is closing"));
      return done;
    }
    if (bufferedPoints.get() + points.size() > config.maxBufferedPoints) {
      bufferRefused.inc();
      done.completeExceptionally(
          new StoreException(
              StoreException.Kind.TRANSIENT,
              "InfluxDB write buffer full ("
                  + bufferedPoints.get()
                  + " points waiting, store.maxBufferedPoints="
                  + config.maxBufferedPoints
                  + "): InfluxDB is slower than ingest"));
      return done;
    }
    List<String> lines = new ArrayList<>(points.size());
    for (StoredPoint p : points) lines.add(line(p));
    bufferedPoints.addAndGet(lines.size());
    lock.lock();
    try {
      queue.add(new Pending(report, lines, done));
      queuedPoints += lines.size();
      changed.signalAll();
      maybeStartStallWriter();
    } finally {
      lock.unlock();
    }
    return done;
  }

  /** A taken batch and its POST. */
  private record Taken(List<Pending> batch, Flight flight) {}

  private void writeLoop() {
    long flushNanos = TimeUnit.MILLISECONDS.toNanos(config.flushInterval.toMilliseconds());
    while (true) {
      Taken t;
      try {
        t = nextBatch(flushNanos);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      if (t == null) break;
      if (t.batch.isEmpty()) continue;
      write(t);
    }
    List<Pending> left;
    lock.lock();
    try {
      left = new ArrayList<>(queue);
      queue.clear();
      queuedPoints = 0;
    } finally {
      lock.unlock();
    }
    for (Pending p : left)
      fail(p, new StoreException(StoreException.Kind.TRANSIENT, "store closed"));
  }

  /** Sends a taken batch and ends its flight, whatever happens. */
  private void write(Taken t) {
    try {
      ensureDatabase();
      send(t.batch, t.flight);
    } catch (RuntimeException e) {
      // Never let the writer die, and never leave a report waiting forever: its agent replays.
      log.error(
          "influxdb writer: unexpected error, failing {} reports and continuing",
          t.batch.size(),
          e);
      for (Pending p : t.batch) {
        if (!p.done.isDone()) {
          fail(
              p,
              new StoreException(StoreException.Kind.TRANSIENT, "influxdb writer failed: " + e, e));
        }
      }
    } finally {
      ended(t.flight);
    }
  }

  private void ended(Flight f) {
    long took = System.nanoTime() - f.startedNanos;
    lock.lock();
    try {
      flights.remove(f);
      if (f.stallWriter) stallInFlight--;
      else baseInFlight--;
      writesEnded++;
      // A write that was retried took as long as InfluxDB was failing, and a stall writer's as long
      // as a stall: neither is how long a write usually takes.
      if (!f.retrying && !f.stallWriter) {
        recent[recentCount++ % RECENT] = took;
        if (recentCount >= 8) {
          long[] sorted = Arrays.copyOf(recent, Math.min(recentCount, RECENT));
          Arrays.sort(sorted);
          typicalNanos = sorted[sorted.length / 2];
        }
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Takes a report off the queue into a batch; under {@link #lock}. */
  private int take(List<Pending> batch) {
    Pending more = queue.poll();
    if (more == null) return -1;
    more.takenNanos = System.nanoTime();
    batch.add(more);
    queuedPoints -= more.lines.size();
    return more.lines.size();
  }

  private Flight startFlight(boolean stallWriter) {
    Flight f = new Flight(stallWriter);
    flights.add(f);
    if (stallWriter) {
      stallInFlight++;
      stallWrites.mark();
    } else {
      baseInFlight++;
    }
    return f;
  }

  /**
   * The next batch, counted in flight once returned: empty after 200 ms with nothing queued, null
   * once closing with nothing queued. Takes what is queued and returns it at once; with a {@code
   * flushInterval} above zero, waits for more up to that long while another write is in flight
   * (with {@code adaptiveFlush}, only until a write ends or the typical write time has passed).
   */
  private Taken nextBatch(long flushNanos) throws InterruptedException {
    lock.lock();
    try {
      if (queue.isEmpty()) {
        if (closing) return null;
        changed.await(200, TimeUnit.MILLISECONDS);
        if (queue.isEmpty()) return closing ? null : new Taken(List.of(), null);
      }
      List<Pending> batch = new ArrayList<>();
      int points = 0;
      long fill = flushNanos;
      // Until the writes have a typical time, wait as long as flushInterval allows.
      if (config.adaptiveFlush && typicalNanos >= 0) fill = Math.min(fill, typicalNanos);
      long deadline = System.nanoTime() + fill;
      long endedBefore = writesEnded;
      while (points < config.batchSize) {
        int n = take(batch);
        if (n >= 0) {
          points += n;
          continue;
        }
        long wait = deadline - System.nanoTime();
        if (flights.isEmpty() || closing || wait <= 0) break;
        // A write ended: its writer is free too, so waiting longer only holds what is taken.
        if (config.adaptiveFlush && writesEnded != endedBefore) break;
        try {
          changed.awaitNanos(wait);
        } catch (InterruptedException e) {
          // Taken but not sent: back to the queue, so close() fails them rather than losing them.
          for (int i = batch.size() - 1; i >= 0; i--) {
            queue.addFirst(batch.get(i));
            queuedPoints += batch.get(i).lines.size();
          }
          throw e;
        }
      }
      Flight f = startFlight(false);
      maybeStartStallWriter();
      return new Taken(batch, f);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Under {@link #lock}: starts a stall writer when reports wait, every writer is in a POST, and
   * none is waiting already. It sends only if those POSTs turn out stalled ({@link #stallBatch}).
   */
  private void maybeStartStallWriter() {
    if (config.stallWriters == 0
        || closing
        || stallWriterWaiting
        || queue.isEmpty()
        || baseInFlight < config.writeConcurrency
        || stallInFlight >= config.stallWriters) {
      return;
    }
    stallWriterWaiting = true;
    Thread t = Thread.ofVirtual().name("influxdb-stall-writer").unstarted(this::stallWriterRun);
    stallThreads.add(t);
    t.start();
  }

  private void stallWriterRun() {
    try {
      Taken t = stallBatch();
      if (t != null) write(t);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.lock();
      try {
        stallThreads.remove(Thread.currentThread());
        maybeStartStallWriter();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * A stall writer's batch: what is queued once every POST in flight has been out more than twice
   * the typical write time; null as soon as a writer is free, nothing is queued, a write is being
   * retried, or the stall writers are all out (the next enqueue or the end of a write looks again).
   */
  private Taken stallBatch() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        boolean retrying = false;
        long youngest = Long.MIN_VALUE;
        for (Flight f : flights) {
          retrying |= f.retrying;
          youngest = Math.max(youngest, f.startedNanos);
        }
        if (closing
            || queue.isEmpty()
            || retrying
            || baseInFlight < config.writeConcurrency
            || stallInFlight >= config.stallWriters) {
          stallWriterWaiting = false;
          return null;
        }
        if (queuedPoints >= config.batchSize) {
          // InfluxDB is behind, not stalled: more POSTs would not store more.
          changed.await(200, TimeUnit.MILLISECONDS);
          continue;
        }
        long typical =
            typicalNanos >= 0
                ? typicalNanos
                : TimeUnit.MILLISECONDS.toNanos(config.flushInterval.toMilliseconds());
        long wait = youngest + 2 * typical - System.nanoTime();
        if (wait > 0) {
          changed.awaitNanos(wait);
          continue;
        }
        List<Pending> batch = new ArrayList<>();
        int points = 0;
        while (points < config.batchSize) {
          int n = take(batch);
          if (n < 0) break;
          points += n;
        }
        stallWriterWaiting = false;
        return new Taken(batch, startFlight(true));
      }
    } finally {
      lock.unlock();
    }
  }

  /** Completes a report's future; the latest view and the buffer count change first. */
  private void settle(Pending p, WriteOutcome outcome) {
    bufferedPoints.addAndGet(-p.lines.size());
    if (outcome.pointsDropped() == 0 && p.report != null) latest.update(p.report);
    p.done.complete(outcome);
  }

  private void fail(Pending p, StoreException e) {
    bufferedPoints.addAndGet(-p.lines.size());
    p.done.completeExceptionally(e);
  }

  private void ensureDatabase() {
    if (databaseReady) return;
    try {
      Answer a =
          post(
              InfluxReader.queryUri(
                  config, "CREATE DATABASE " + InfluxReader.identifier(config.database), null),
              "");
      if (a.status / 100 == 2) {
        databaseReady = true;
        log.info("influxdb: database {} ready at {}", config.database, config.url);
      } else {
        log.warn("influxdb: CREATE DATABASE {} answered {}: {}", config.database, a.status, a.body);
      }
    } catch (IOException e) {
      log.warn(
          "influxdb: cannot create database {} at {}: {}",
          config.database,
          config.url,
          e.toString());
    }
  }

  /** Writes a batch, splitting it as the answers require, and settles every future in it. */
  private void send(List<Pending> batch, Flight flight) {
    StringBuilder body = new StringBuilder();
    int points = 0;
    for (Pending p : batch) {
      for (String l : p.lines) body.append(l).append('\n');
      points += p.lines.size();
    }
    Answer a;
    long posted = System.nanoTime();
    for (Pending p : batch) {
      queueLatency.update(posted - p.enqueuedNanos, TimeUnit.NANOSECONDS);
      writerWait.update(p.takenNanos - p.enqueuedNanos, TimeUnit.NANOSECONDS);
    }
    try (Timer.Context t = writeLatency.time()) {
      a = postWithRetries(body.toString(), flight);
    } catch (StoreException e) {
      log.warn(
          "influxdb: giving up on {} reports ({} points): {}",
          batch.size(),
          points,
          e.getMessage());
      for (Pending p : batch) fail(p, e);
      return;
    }
    batches.mark();
    int s = a.status;
    if (s / 100 == 2) {
      if (configurationError != null) {
        log.info("influxdb: writes accepted again at {}", config.url);
        configurationError = null;
      }
      pointsWritten.mark(points);
      long took = System.nanoTime() - posted;
      for (Pending p : batch) {
        settle(
            p,
            WriteOutcome.written(p.lines.size())
                .took(took)
                .waitedForWriter(p.takenNanos - p.enqueuedNanos));
      }
    } else if (s == 401 || s == 403) {
      String msg =
          "InfluxDB at "
              + config.url
              + " refused our credentials ("
              + s
              + "): check store.username/password (api v1) or store.token (api v2) and their"
              + " write permission; "
              + a.body.strip();
      if (!msg.equals(configurationError)) log.error("influxdb: {}", msg);
      configurationError = msg;
      for (Pending p : batch) fail(p, new StoreException(StoreException.Kind.CONFIGURATION, msg));
    } else if ((s == 413 || s == 400 || s == 422) && batch.size() > 1) {
      splits.inc();
      if (s == 413) {
        int half = batch.size() / 2;
        send(batch.subList(0, half), flight);
        send(batch.subList(half, batch.size()), flight);
      } else {
        // Isolate the malformed report(s): the others are written again (idempotent: same
        // series and timestamps), the bad one is dropped below.
        for (Pending p : batch) send(List.of(p), flight);
      }
    } else if (s == 404 && a.body.contains("database not found")) {
      databaseReady = !config.createDatabase;
      String msg = "InfluxDB at " + config.url + " has no database " + config.database;
      for (Pending p : batch) fail(p, new StoreException(StoreException.Kind.CONFIGURATION, msg));
    } else {
      // 400/422 (or 413, or any other 4xx) for a single report: retrying cannot help.
      Pending p = batch.getFirst();
      pointsDropped.inc(p.lines.size());
      log.warn(
          "influxdb: dropped {} ({} points): {} {}",
          p.describe(),
          p.lines.size(),
          s,
          a.body.strip());
      for (Pending q : batch) settle(q, new WriteOutcome(0, q.lines.size()));
    }
  }

  private Answer postWithRetries(String body, Flight flight) throws StoreException {
    RetryPolicy<Answer> policy =
        RetryPolicy.<Answer>builder()
            .handle(IOException.class)
            .handleResultIf(a -> a.status == 429 || a.status / 100 == 5)
            .withBackoff(Duration.ofMillis(100), Duration.ofSeconds(5))
            .withJitter(0.2)
            .withDelayFn(
                ctx -> {
                  // A negative delay tells Failsafe to use the backoff instead.
                  // Jitter (±20 %) also applies here; scaling by 1/0.8 keeps the wait at or
                  // above what the server asked for.
                  Answer last = ctx.getLastResult();
                  if (last == null || last.retryAfter.isEmpty()) return NO_RETRY_AFTER;
                  return Duration.ofMillis(last.retryAfter.get().toMillis() * 5 / 4);
                })
            .withMaxDuration(Duration.ofMillis(config.maxRetryTime.toMilliseconds()))
            .withMaxRetries(-1)
            .onRetry(
                e -> {
                  flight.retrying = true;
                  retries.inc();
                  if (e.getAttemptCount() == 1 || e.getAttemptCount() % 10 == 0) {
                    log.warn(
                        "influxdb: write to {} failed (attempt {}), retrying: {}",
                        config.url,
                        e.getAttemptCount(),
                        e.getLastException() != null
                            ? e.getLastException().toString()
                            : e.getLastResult().status + " " + e.getLastResult().body.strip());
                  }
                })
            .build();
    try {
      Answer a = Failsafe.with(policy).get(() -> post(writeUri, body));
      if (a.status == 429 || a.status / 100 == 5) {
        throw new StoreException(
            StoreException.Kind.TRANSIENT,
            "InfluxDB at "
                + config.url
                + " still answers "
                + a.status
                + " after "
                + config.maxRetryTime);
      }
      return a;
    } catch (FailsafeException e) {
      throw new StoreException(
          StoreException.Kind.TRANSIENT,
          "InfluxDB at "
              + config.url
              + " unreachable for "
              + config.maxRetryTime
              + ": "
              + e.getCause(),
          e.getCause());
    }
  }

  private Answer post(URI uri, String body) throws IOException {
    HttpRequest.Builder rb =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofMillis(config.requestTimeout.toMilliseconds()))
            .header("Content-Type", "text/plain; charset=utf-8")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (auth != null) rb.header("Authorization", auth);
    try {
      HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body() == null ? "" : r.body(), retryAfter(r));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** Retry-After in seconds or as an HTTP date (RFC 9110). */
  static Optional<Duration> retryAfter(HttpResponse<?> r) {
    Optional<String> v = r.headers().firstValue("Retry-After");
    if (v.isEmpty()) return Optional.empty();
    String s = v.get().strip();
    try {
      return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(s))));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        Duration d = Duration.between(Instant.now(), at);
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (RuntimeException unparsable) {
        log.debug("influxdb: ignoring unparsable Retry-After: {}", s);
        return Optional.empty();
      }
    }
  }

  /** Points waiting to be written. */
  int bufferedPoints() {
    return bufferedPoints.get();
  }

  /** What InfluxDB said of our credentials the last time it refused them; null once it writes. */
  String configurationError() {
    return configurationError;
  }

  /** Stops taking reports and waits for the writers to write or fail what they hold. */
  void close() {
    closing = true;
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    long deadline =
        System.nanoTime()
            + TimeUnit.MILLISECONDS.toNanos(config.maxRetryTime.toMilliseconds() + 5000);
    try {
      List<Thread> all = new ArrayList<>(writers);
      lock.lock();
      try {
        all.addAll(stallThreads);
      } finally {
        lock.unlock();
      }
      for (Thread w : all) {
        w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.FileHandles;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Property tests of {@link ReportValidator} on generated and mutated reports: it never throws, a
 * refusal always names a field (a path into HostReport) with a reason and a message, and what it
 * accepts is within every limit. Each property runs a few thousand cases from a fixed seed, so a
 * failure reproduces; {@code -Dfuzz.seed=N} explores other seeds and {@code -Dfuzz.cases=N} runs
 * longer.
 *
 * <p>The generators are written here rather than taken from jqwik: jqwik 1.10 asks not to be used
 * by AI coding agents, and earlier versions run on JUnit Platform 1, not the 6 this build uses.
 */
class ReportValidatorFuzzTest {
  private static final long SEED = Long.getLong("fuzz.seed", 20261124L);
  private static final int CASES = Integer.getInteger("fuzz.cases", 3000);
  private static final Pattern FIELD =
      Pattern.compile("seq|sample(\\.[a-z_][a-z0-9_]*(\\[\\d+])?)*");
  private static final Pattern REASON = Pattern.compile("[a-z_]+");
  private static final String HOSTILE =
      "aZ09_-.. \n\r\t\\,=\"'/:[]{}%\u0000\u007f\u00e9\u4e16\ud83d\ude00";

  private final Instant now = Instant.parse("2026-11-24T12:00:00Z");
  private final ReportLimits limits = new ReportLimits();
  private final ReportValidator validator = new ReportValidator(limits);

  /** Checks one report: no exception, and a refusal that says where and why. */
  private Optional<Violation> check(HostReport r, long seed, int i) {
    Optional<Violation> v;
    try {
      v = validator.check(r);
    } catch (RuntimeException e) {
      throw new AssertionError("seed " + seed + " case " + i + ": validator threw " + e, e);
    }
    v.ifPresent(
        x -> {
          assertThat(x.field()).as("seed %d case %d: field of %s", seed, i, x).matches(FIELD);
          assertThat(x.reason()).as("reason of %s", x).matches(REASON);
          assertThat(x.message()).as("message of %s", x).isNotBlank();
          assertThat(x.code()).isIn(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED);
        });
    return v;
  }

  @Test
  void generatedReportsNeverMakeItThrowAndWhatPassesIsWithinTheLimits() {
    var random = new SplittableRandom(SEED);
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < CASES; i++) {
      HostReport r = arbitrary(random);
      if (check(r, SEED, i).isEmpty()) {
        accepted++;
        assertWithinLimits(r);
      } else {
        refused++;
      }
    }
    // The generator must exercise both sides, or the properties say little.
    assertThat(accepted).as("accepted").isGreaterThan(CASES / 20);
    assertThat(refused).as("refused").isGreaterThan(CASES / 20);
  }

  @Test
  void mutatedBytesOfARealReportNeverMakeItThrow() {
    var random = new SplittableRandom(SEED + 1);
    byte[] real = TestReports.report("web-1", 7, now).toByteArray();
    int parsed = 0;
    for (int i = 0; i < CASES * 3; i++) {
      byte[] b = mutate(real, random);
      HostReport r;
      try {
        r = HostReport.parseFrom(b);
      } catch (InvalidProtocolBufferException notProtobuf) {
        continue; // gRPC would refuse it before the validator sees it
      }
      parsed++;
      check(r, SEED + 1, i);
    }
    assertThat(parsed).as("mutants that still parse").isGreaterThan(CASES / 4);
  }

  @Test
  void randomBytesNeverMakeItThrow() {
    var random = new SplittableRandom(SEED + 2);
    for (int i = 0; i < CASES; i++) {
      byte[] b = new byte[random.nextInt(400)];
      random.nextBytes(b);
      try {
        check(HostReport.parseFrom(b), SEED + 2, i);
      } catch (InvalidProtocolBufferException notProtobuf) {
        // refused by gRPC's parser
      }
    }
  }

  private void assertWithinLimits(HostReport r) {
    HostSample s = r.getSample();
    assertThat(r.getSeq()).isNotZero();
    assertThat(s.getHost().getHostname()).matches("[A-Za-z0-9_.-]{1,253}");
    assertThat(s.getProcessesCount()).isLessThanOrEqualTo(limits.maxProcesses);
    for (ProcessSample p : s.getProcessesList()) {
      assertThat(p.getComm().length()).isLessThanOrEqualTo(limits.maxCommLength);
      assertThat(p.getCmdline().length()).isLessThanOrEqualTo(limits.maxCmdlineLength);
      assertThat(p.getFds()).isNotNegative();
      assertThat(p.getCloseWaitPeersCount()).isLessThanOrEqualTo(limits.maxEndpointsPerProcess);
      for (EndpointCount e : p.getCloseWaitPeersList()) {
        assertThat(e.getEndpoint()).isNotEmpty();
        assertThat(e.getEndpoint().length()).isLessThanOrEqualTo(limits.maxEndpointLength);
      }
    }
    assertThat(s.getPortPressure().getTopCount())
        .isLessThanOrEqualTo(limits.maxPortPressureEntries);
    assertThat(s.getSysctlsCount()).isLessThanOrEqualTo(limits.maxSysctls);
    for (Sysctl sc : s.getSysctlsList()) {
      assertThat(sc.getValue().length()).isLessThanOrEqualTo(limits.maxSysctlValueLength);
    }
    assertThat(s.getHealth().getSourcesCount()).isLessThanOrEqualTo(limits.maxHealthSources);
    // Any valid timestamp: how far it may be from the collector's clock is ClockOffsets' call.
    assertThat(s.getTime().getNanos()).isBetween(0, 999_999_999);
  }

  private static byte[] mutate(byte[] in, SplittableRandom r) {
    byte[] b = in.clone();
    int edits = 1 + r.nextInt(4);
    for (int e = 0; e < edits && b.length > 0; e++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(4)) {
        case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
        case 1 -> b[at] = (byte) r.nextInt(256);
        case 2 -> { // cut
          byte[] shorter = new byte[at];
          System.arraycopy(b, 0, shorter, 0, at);
          b = shorter;
        }
        default -> { // duplicate a slice: repeated fields grow, scalars are overwritten
          int len = Math.min(b.length - at, 1 + r.nextInt(64));
          byte[] longer = new byte[b.length + len];
          System.arraycopy(b, 0, longer, 0, at + len);
          System.arraycopy(b, at, longer, at + len, b.length - at);
          b = longer;
        }
      }
    }
    return b;
  }

  // --- generators: mostly plausible values, with edges and hostile ones mixed in ---

  /** Percent of values that are edge or hostile in the report being generated. */
  private int edgePercent;

  private boolean edge(SplittableRandom r) {
    return r.nextInt(100) < edgePercent;
  }

  /** Half the reports are plausible throughout; the others have a few edge values each. */
  private HostReport arbitrary(SplittableRandom r) {
    edgePercent = r.nextBoolean() ? 0 : 8;
    var report = HostReport.newBuilder().setSeq(edge(r) ? 0 : 1 + r.nextLong(1_000_000));
    if (edge(r)) return report.build();
    HostSample.Builder s = HostSample.newBuilder();
    if (!edge(r)) {
      s.setHost(
          HostIdentity.newBuilder()
              .setHostname(edge(r) ? string(r, 260) : hostname(r))
              .setMachineId(string(r, edge(r) ? 80 : 32))
              .setKernelRelease(string(r, edge(r) ? 140 : 20)));
    }
    if (!edge(r)) s.setTime(time(r));
    if (r.nextBoolean()) {
      s.setTcp(TcpSockets.newBuilder().setTotal(counts(r)).setIpv4(counts(r)).setIpv6(counts(r)));
    }
    if (r.nextBoolean()) {
      s.setFileHandles(
          FileHandles.newBuilder()
              .setAllocated(longValue(r))
              .setMax(longValue(r))
              .setNrOpen(longValue(r))
              .setUsedRatio(ratio(r)));
    }
    int processes = size(r, limits.maxProcesses);
    for (int i = 0; i < processes; i++) {
      var p =
          ProcessSample.newBuilder()
              .setPid(r.nextInt())
              .setComm(string(r, edge(r) ? 70 : 15))
              .setCmdline(string(r, edge(r) ? 5000 : 40))
              .setFds(longValue(r))
              .setSoftLimit(longValue(r))
              .setHardLimit(longValue(r))
              .setUsedRatio(ratio(r))
              .setSockets(counts(r));
      int peers = processes > 20 ? r.nextInt(3) : size(r, limits.maxEndpointsPerProcess);
      for (int j = 0; j < peers; j++) {
        p.addCloseWaitPeers(
            EndpointCount.newBuilder()
                .setEndpoint(edge(r) ? string(r, 70) : endpoint(r))
                .setCount(longValue(r)));
      }
      s.addProcesses(p);
    }
    if (r.nextBoolean()) {
      var pp = PortPressure.newBuilder().setRangeSize(r.nextInt(70_000));
      int n = size(r, limits.maxPortPressureEntries);
      for (int i = 0; i < n; i++) {
        pp.addTop(
            PortPressureEntry.newBuilder()
                .setRemote(edge(r) ? string(r, 70) : endpoint(r))
                .setInUse(longValue(r))
                .setTimeWait(longValue(r)));
      }
      s.setPortPressure(pp);
    }
    int sysctls = size(r, limits.maxSysctls);
    for (int i = 0; i < sysctls; i++) {
      s.addSysctls(
          Sysctl.newBuilder()
              .setName(string(r, edge(r) ? 140 : 30))
              .setValue(string(r, edge(r) ? 5000 : 20)));
    }
    if (r.nextBoolean()) {
      var h = AgentHealth.newBuilder().setWallMicros(longValue(r));
      int n = size(r, limits.maxHealthSources);
      for (int i = 0; i < n; i++) {
        var run = SourceRun.newBuilder().setSource(string(r, edge(r) ? 140 : 10));
        int errors = edge(r) ? 33 + r.nextInt(3) : r.nextInt(3);
        for (int e = 0; e < errors; e++) run.addErrors(string(r, edge(r) ? 1100 : 30));
        h.addSources(run);
      }
      s.setHealth(h);
    }
    return report.setSample(s).build();
  }

  /** A list length: usually small, sometimes right at or just past the limit. */
  private int size(SplittableRandom r, int limit) {
    if (!edge(r)) return r.nextInt(4);
    return r.nextBoolean() ? Math.max(0, limit - 1 + r.nextInt(3)) : r.nextInt(limit + 5);
  }

  private long longValue(SplittableRandom r) {
    if (!edge(r)) return r.nextLong(1_000_000);
    return switch (r.nextInt(5)) {
      case 0 -> -1 - r.nextInt(1000); // a uint64 above 2^63
      case 1 -> Long.MAX_VALUE;
      case 2 -> Long.MIN_VALUE;
      case 3 -> 0;
      default -> r.nextLong(1_000_000);
    };
  }

  private double ratio(SplittableRandom r) {
    if (!edge(r)) return r.nextDouble(2);
    return switch (r.nextInt(4)) {
      case 0 -> Double.NaN;
      case 1 -> Double.POSITIVE_INFINITY;
      case 2 -> -0.5;
      default -> r.nextDouble(2);
    };
  }

  private TcpStateCounts counts(SplittableRandom r) {
    return TcpStateCounts.newBuilder()
        .setEstablished(edge(r) ? longValue(r) : r.nextLong(100_000))
        .setCloseWait(edge(r) ? longValue(r) : r.nextLong(1000))
        .setTimeWait(edge(r) ? longValue(r) : r.nextLong(1000))
        .build();
  }

  private Timestamp time(SplittableRandom r) {
    long seconds =
        switch (edge(r) ? r.nextInt(6) : 6) {
          case 0 -> Long.MAX_VALUE;
          case 1 -> Long.MIN_VALUE;
          case 2 -> 253402300800L; // year 10000
          case 3 -> -62135596801L; // before year 1
          case 4 -> now.getEpochSecond() + 3600;
          case 5 -> now.getEpochSecond() - 30 * 86_400;
          default -> now.getEpochSecond() - r.nextLong(86_400);
        };
    int nanos = edge(r) ? r.nextInt() : r.nextInt(1_000_000_000);
    return Timestamp.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }

  private static String hostname(SplittableRandom r) {
    return "host-" + r.nextInt(1000) + (r.nextBoolean() ? ".example.com" : "");
  }

  private static String endpoint(SplittableRandom r) {
    return r.nextBoolean()
        ? "10.0." + r.nextInt(256) + "." + r.nextInt(256) + ":" + r.nextInt(65536)
        : "[2001:db8::" + Integer.toHexString(r.nextInt(65536)) + "]:" + r.nextInt(65536);
  }

  /** Up to {@code max} characters, hostile ones included. */
  private static String string(SplittableRandom r, int max) {
    int n = r.nextInt(max + 1);
    StringBuilder sb = new StringBuilder(n);
    while (sb.length() < n) {
      int c =
          r.nextInt(10) < 7
              ? 'a' + r.nextInt(26)
              : HOSTILE.codePointAt(r.nextInt(HOSTILE.length() - 1));
      if (Character.isSurrogate((char) c)) continue;
      sb.appendCodePoint(c);
    }
    return sb.toString();
  }
}

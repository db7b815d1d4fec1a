package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.core.setup.Environment;
import io.dropwizard.jersey.setup.JerseyEnvironment;
import io.dropwizard.servlets.assets.AssetServlet;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.handlewatch.collector.clock.ClockView;
import io.handlewatch.collector.security.ApiAuthFactory;
import io.handlewatch.collector.store.SampleStore;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code api:} section: how the REST API judges staleness and bounds its answers. Every key has
 * a default; the section may be left out.
 */
public class ApiFactory {
  /** Jersey serves only this path; the fleet page's assets own the rest of the root. */
  public static final String URL_PATTERN = "/api/*";

  /** Where the fleet page's files are on the classpath. */
  static final String ASSETS = "/assets/";

  /** A host's report interval until two of its reports are known (then observed). */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration defaultReportInterval = Duration.seconds(10);

  /** A host silent for this many of its intervals is marked stale. */
  @Min(2)
  @Max(1000)
  @JsonProperty
  public int staleAfterIntervals = 3;

  /** The series API refuses a step that would give more points per series than this. */
  @Min(10)
  @Max(100_000)
  @JsonProperty
  public int maxPointsPerSeries = 2000;

  /** The series API refuses an answer with more series than this (narrow it with pid=, ...). */
  @Min(1)
  @Max(10_000)
  @JsonProperty
  public int maxSeries = 200;

  /** Bearer tokens for the REST API and for admin tasks (off unless tokens are configured). */
  @Valid @NotNull @JsonProperty public ApiAuthFactory auth = new ApiAuthFactory();

  /** The largest {@code limit} the fleet listing takes. */
  @Min(1)
  @Max(100_000)
  @JsonProperty
  public int maxPageSize = 1000;

  /**
   * Registers every API resource under {@code /api}, reading history from {@code store} and the
   * detector's conclusions from {@code detection}, the fleet page at {@code /} and the runbook at
   * {@code /runbook}.
   */
  public void register(Environment env, SampleStore store, DetectionSource detection, Clock clock) {
    register(env, store, detection, clock, ClockView.NONE);
  }

  /** As above, with the hosts' clocks as ingest measured them ({@code clocks}). */
  public void register(
      Environment env,
      SampleStore store,
      DetectionSource detection,
      Clock clock,
      ClockView clocks) {
    // What Dropwizard's AssetsBundle does, without the extra module: a servlet for "/*" beside
    // Jersey's "/api/*"; the servlet container routes by the longest matching prefix.
    env.servlets()
        .addServlet(
            "fleet-page", new AssetServlet(ASSETS, "/", "index.html", StandardCharsets.UTF_8))
        .addMapping("/*");
    // The runbook that alerts link to, readable in a browser; an exact mapping beats "/*".
    env.servlets().addServlet("runbook", new RunbookServlet()).addMapping(RunbookServlet.PATH);
    JerseyEnvironment jersey = env.jersey();
    jersey.setUrlPattern(URL_PATTERN);
    for (Object r : resources(store, detection, clock, clocks)) jersey.register(r);
  }

  /** The API's resources and providers, for Jersey (tests register them on their own). */
  public List<Object> resources(SampleStore store, DetectionSource detection, Clock clock) {
    return resources(store, detection, clock, ClockView.NONE);
  }

  /** As above, with the hosts' clocks as ingest measured them. */
  public List<Object> resources(
      SampleStore store, DetectionSource detection, Clock clock, ClockView clocks) {
    HostSummaries summaries =
        new HostSummaries(
            store,
            detection,
            clock,
            java.time.Duration.ofMillis(defaultReportInterval.toMilliseconds()),
            staleAfterIntervals,
            clocks);
    return List.of(
        new ApiExceptionMapper(),
        new HostsResource(store, summaries, detection, maxPageSize),
        new SeriesResource(store, clock, maxPointsPerSeries, maxSeries),
        new AlertsResource(detection),
        new SysctlDriftResource(detection),
        new OpenApiResource());
  }
}

package io.handlewatch.collector.ingest;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.constraints.NotNull;
import java.util.concurrent.TimeUnit;

/**
 * The {@code ingest.auth:} section: how an agent proves which host it is. With {@code mtls} the
 * host comes from the client certificate (its CN or a DNS subject alternative name), with {@code
 * token} from the tokens file's line for the agent's bearer token, with {@code mtls_or_token} from
 * either (the certificate when one is presented). A report whose {@code sample.host.hostname} is
 * another host is refused (PERMISSION_DENIED); a call without a valid credential is refused at its
 * start (UNAUTHENTICATED). With {@code none} (the default) any agent may report any host.
 */
public class IngestAuthFactory {
  public enum Mode {
    NONE,
    MTLS,
    TOKEN,
    MTLS_OR_TOKEN;

    boolean certificates() {
      return this == MTLS || this == MTLS_OR_TOKEN;
    }

    boolean tokens() {
      return this == TOKEN || this == MTLS_OR_TOKEN;
    }
  }

  @NotNull @JsonProperty public Mode mode = Mode.NONE;

  /** The agents' tokens: one {@code HOST TOKEN} or {@code HOST sha256:HEX} per line. */
  @JsonProperty public String tokensFile;

  /** How often the tokens file is checked for a change. */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration tokensReloadInterval = Duration.seconds(30);

  /**
   * Accept bearer tokens without TLS. Only for tests on loopback: {@code ingest.bindHost} must then
   * be a loopback address.
   */
  @JsonProperty public boolean allowPlaintextTokens = false;

  @ValidationMethod(
      message =
          "ingest.auth.tokensFile is required when ingest.auth.mode is token or mtls_or_token")
  public boolean isTokensFileGivenWhenNeeded() {
    return !mode.tokens() || (tokensFile != null && !tokensFile.isBlank());
  }
}

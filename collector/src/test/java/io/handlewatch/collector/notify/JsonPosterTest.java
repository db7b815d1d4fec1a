package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.handlewatch.collector.testing.HttpReceiver;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** How a receiver's answer is classified: what is retried and what is a configuration error. */
class JsonPosterTest {

  @ParameterizedTest
  @CsvSource({
    "200, ",
    "202, ",
    "400, REJECTED",
    "401, REJECTED",
    "403, REJECTED",
    "404, REJECTED",
    "413, REJECTED",
    "429, UNAVAILABLE",
    "500, UNAVAILABLE",
    "502, UNAVAILABLE",
    "503, UNAVAILABLE"
  })
  void statusesAreClassified(int status, NotifyException.Kind expected) throws Exception {
    try (HttpReceiver r = HttpReceiver.start();
        JsonPoster p =
            new JsonPoster(URI.create(r.url() + "/x"), Duration.ofSeconds(5), Map.of())) {
      r.answerAlways(status);
      NotifyException e = catchThrowableOfType(NotifyException.class, () -> p.post(List.of()));
      if (expected == null) {
        assertThat(e).isNull();
      } else {
        assertThat(e.kind()).isEqualTo(expected);
        assertThat(e.status()).isEqualTo(status);
        assertThat(e.getMessage()).contains("answered HTTP " + status).contains(r.url() + "/x");
      }
    }
  }

  @Test
  void aReceiverThatIsNotListeningIsRetryable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (JsonPoster p =
        new JsonPoster(
            URI.create("http://127.0.0.1:" + port + "/"), Duration.ofSeconds(5), Map.of())) {
      NotifyException e = catchThrowableOfType(NotifyException.class, () -> p.post(List.of()));
      assertThat(e.retryable()).isTrue();
      assertThat(e.status()).isZero();
      assertThat(e.getMessage()).contains("cannot reach");
    }
  }

  @Test
  void retryAfterIsReadInSecondsOrAsAnHttpDate() {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    assertThat(JsonPoster.retryAfter("120", now)).isEqualTo(Duration.ofSeconds(120));
    assertThat(JsonPoster.retryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now))
        .isEqualTo(Duration.ofSeconds(30));
    assertThat(JsonPoster.retryAfter("Sun, 01 Mar 2026 11:00:00 GMT", now)).isZero();
    assertThat(JsonPoster.retryAfter("soon", now)).isNull();
    assertThat(JsonPoster.retryAfter(null, now)).isNull();
  }
}

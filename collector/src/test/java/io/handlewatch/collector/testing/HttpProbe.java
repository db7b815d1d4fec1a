package io.handlewatch.collector.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Asks a server started by a harness whether it is up yet. */
final class HttpProbe {
  private static final HttpClient http = HttpClient.newHttpClient();

  private HttpProbe() {}

  /** Whether a GET of {@code url} answers {@code status} within a second. */
  static boolean answers(String url, int status) {
    try {
      var r =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(1)).build(),
              HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == status;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}

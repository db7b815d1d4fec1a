package io.handlewatch.collector;

import io.dropwizard.core.server.DefaultServerFactory;
import io.dropwizard.core.server.ServerFactory;
import io.dropwizard.core.server.SimpleServerFactory;
import io.dropwizard.jetty.ConnectorFactory;
import io.dropwizard.jetty.HttpConnectorFactory;
import io.dropwizard.jetty.HttpsConnectorFactory;
import io.handlewatch.collector.api.RunbookServlet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The collector's address as users reach it (the top-level {@code externalUrl}), and the links
 * built on it: alerts leave the collector (Alertmanager, a pager, an e-mail), so their {@code
 * runbook_url} and {@code generatorURL} must be absolute to work there.
 */
final class ExternalUrl {
  private ExternalUrl() {}

  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

  /** An http(s) URL with a host, and neither query nor fragment (links are appended to it). */
  static boolean isValid(String url) {
    if (isUnset(url)) return true;
    try {
      URI u = new URI(url.strip());
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      return (scheme.equals("http") || scheme.equals("https"))
          && u.getHost() != null
          && !u.getHost().isBlank()
          && u.getRawQuery() == null
          && u.getRawFragment() == null;
    } catch (URISyntaxException e) {
      return false;
    }
  }

  /** Unset, or left empty (e.g. {@code ${HANDLEWATCH_EXTERNAL_URL:-}}): the default applies. */
  static boolean isUnset(String url) {
    return url == null || url.isBlank();
  }

  /** Without surrounding blanks and trailing slashes, so paths append with one "/". */
  static String normalise(String url) {
    return url.strip().replaceAll("/+$", "");
  }

  /**
   * The address of the server's HTTP application connector: {@code http[s]://HOST:PORT} plus the
   * application's context path, HOST being the connector's bindHost, or this machine's name when it
   * binds every address.
   *
   * <p>A connector on port 0 (any free port) gets its port chosen here, before Jetty binds it: the
   * links are built into the detector before the server starts, so the port must be known now. A
   * free port is found on the connector's address and set on the connector.
   *
   * @throws IllegalStateException when there is no HTTP application connector to default to
   */
  static String ofServer(ServerFactory server, Supplier<String> hostname) {
    ConnectorFactory connector;
    String contextPath;
    if (server instanceof DefaultServerFactory d) {
      List<ConnectorFactory> app = d.getApplicationConnectors();
      connector =
          app.stream().filter(c -> c instanceof HttpConnectorFactory).findFirst().orElse(null);
      contextPath = d.getApplicationContextPath();
    } else if (server instanceof SimpleServerFactory s) {
      connector = s.getConnector();
      contextPath = s.getApplicationContextPath();
    } else {
      connector = null;
      contextPath = null;
    }
    if (!(connector instanceof HttpConnectorFactory http)) {
      throw new IllegalStateException(
          "externalUrl: not set, and no HTTP application connector in server: to default to;"
              + " set externalUrl to the collector's address as users reach it");
    }
    String bind = http.getBindHost();
    if (http.getPort() == 0) http.setPort(freePort(bind));
    String host = bind == null || isWildcard(bind) ? hostname.get() : bind;
    if (host.contains(":") && !host.startsWith("[")) host = "[" + host + "]";
    String scheme = http instanceof HttpsConnectorFactory ? "https" : "http";
    String path = contextPath == null ? "" : contextPath.strip().replaceAll("/+$", "");
    if (!path.isEmpty() && !path.startsWith("/")) path = "/" + path;
    return scheme + "://" + host + ":" + http.getPort() + path;
  }

  /**
   * Where an alert's {@code runbook_url} points ({@code #kind} is appended to it): an absolute
   * {@code detection.runbookUrl} is the team's own copy, kept as it is; a relative one (the default
   * {@code RUNBOOK.md}) would not open outside the collector, so it becomes the copy the collector
   * serves itself.
   */
  static String runbook(String configured, String externalUrl) {
    if (configured != null && SCHEME.matcher(configured.strip()).find()) return configured.strip();
    return externalUrl + RunbookServlet.PATH;
  }

  /** This machine's name, as the kernel has it (no name lookup: nothing leaves the host). */
  static String hostname() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      if (!name.isEmpty()) return name;
    } catch (IOException e) {
      // Not Linux, or no /proc: the JDK's answer below.
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  private static boolean isWildcard(String host) {
    String h = host.strip();
    return h.isEmpty() || h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]");
  }

  private static int freePort(String bindHost) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(
          bindHost == null || isWildcard(bindHost)
              ? new InetSocketAddress(0)
              : new InetSocketAddress(bindHost, 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("externalUrl: no free port on " + bindHost, e);
    }
  }
}

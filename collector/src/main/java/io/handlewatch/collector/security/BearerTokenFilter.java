package io.handlewatch.collector.security;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets a request through only with {@code Authorization: Bearer TOKEN} for one of the allowed
 * tokens: 401 without a token or with an unknown one, 403 with a token that is known but not
 * allowed here (an API token on admin tasks), and 403 for everything when nothing is allowed and
 * the filter guards something that is off until configured. Tokens are compared as SHA-256 digests
 * in constant time.
 */
public final class BearerTokenFilter implements Filter {
  private static final Logger log = LoggerFactory.getLogger(BearerTokenFilter.class);

  private final String what;
  private final List<byte[]> allowed;
  private final List<byte[]> knownElsewhere;
  private final String disabledMessage;
  private final AtomicLong refused = new AtomicLong();

  /**
   * @param what what the filter guards, for messages ("the API", "admin tasks")
   * @param allowed digests of the tokens that may pass
   * @param knownElsewhere digests of valid tokens that may not pass here (answered 403)
   * @param disabledMessage when {@code allowed} is empty, every request gets 403 with this
   */
  public BearerTokenFilter(
      String what, List<byte[]> allowed, List<byte[]> knownElsewhere, String disabledMessage) {
    this.what = what;
    this.allowed = List.copyOf(allowed);
    this.knownElsewhere = List.copyOf(knownElsewhere);
    this.disabledMessage = disabledMessage;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    var request = (HttpServletRequest) req;
    var response = (HttpServletResponse) res;
    if (allowed.isEmpty()) {
      refuse(request, response, HttpServletResponse.SC_FORBIDDEN, disabledMessage);
      return;
    }
    String token = TokenDigests.bearer(request.getHeader("Authorization"));
    if (token == null) {
      refuse(
          request,
          response,
          HttpServletResponse.SC_UNAUTHORIZED,
          what + " needs a bearer token (Authorization: Bearer TOKEN)");
      return;
    }
    byte[] digest = TokenDigests.of(token);
    if (matches(allowed, digest)) {
      chain.doFilter(req, res);
      return;
    }
    if (matches(knownElsewhere, digest)) {
      refuse(
          request,
          response,
          HttpServletResponse.SC_FORBIDDEN,
          "this token is not allowed to use " + what);
      return;
    }
    refuse(request, response, HttpServletResponse.SC_UNAUTHORIZED, "invalid bearer token");
  }

  private static boolean matches(List<byte[]> digests, byte[] digest) {
    boolean found = false;
    for (byte[] d : digests) found |= MessageDigest.isEqual(d, digest);
    return found;
  }

  private void refuse(
      HttpServletRequest request, HttpServletResponse response, int status, String message)
      throws IOException {
    long n = refused.incrementAndGet();
    if (n <= 3 || Long.bitCount(n) == 1) {
      log.warn(
          "{} {} from {} refused with {}: {} (refused so far: {})",
          request.getMethod(),
          request.getRequestURI(),
          request.getRemoteAddr(),
          status,
          message,
          n);
    }
    if (status == HttpServletResponse.SC_UNAUTHORIZED) {
      response.setHeader("WWW-Authenticate", "Bearer realm=\"handlewatch\"");
    }
    response.setStatus(status);
    response.setContentType("application/json");
    response
        .getWriter()
        .write("{\"code\":" + status + ",\"message\":\"" + jsonEscape(message) + "\"}");
  }

  private static String jsonEscape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') sb.append('\\').append(c);
      else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
      else sb.append(c);
    }
    return sb.toString();
  }
}

package io.handlewatch.collector.security;

import io.dropwizard.core.setup.Environment;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.EnumSet;

/**
 * Headers on every answer of the application port (fleet page, its assets, the API): no MIME
 * sniffing, a Content-Security-Policy the page's own files satisfy (scripts and styles from this
 * origin only, no inline code, fetches to this origin only), and no framing by anyone.
 */
public final class SecurityHeaders implements Filter {
  /**
   * The page is one HTML file, one script and one stylesheet; it draws charts as inline SVG and
   * sets the few styles it computes through the CSSOM, which CSP does not restrict.
   */
  public static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  public static void register(Environment env) {
    env.servlets()
        .addFilter("security-headers", new SecurityHeaders())
        .addMappingForUrlPatterns(EnumSet.allOf(DispatcherType.class), true, "/*");
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (response instanceof HttpServletResponse http) {
      http.setHeader("X-Content-Type-Options", "nosniff");
      http.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      // For browsers that predate frame-ancestors.
      http.setHeader("X-Frame-Options", "DENY");
      http.setHeader("Referrer-Policy", "no-referrer");
    }
    chain.doFilter(request, response);
  }
}

package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.Kind;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** RUNBOOK.md as the collector serves it at /runbook: a page with one anchor per alert kind. */
class RunbookServletTest {

  @Test
  void everyPagingKindHasItsSectionAnchoredByItsTag() throws Exception {
    var servlet = new RunbookServlet();
    String page = new String(RunbookServlet.html(packaged()), StandardCharsets.UTF_8);
    assertThat(page).startsWith("<!doctype html>").contains("<title>handlewatch runbook</title>");
    for (Kind k : Kind.values()) {
      if (!k.pages()) continue;
      // runbook_url is the served page plus "#" and the kind's tag.
      assertThat(page).as(k.tag()).contains("<h2 id=\"" + k.tag() + "\">" + k.tag() + "</h2>");
    }
    assertThat(page)
        .as("lists, code, links")
        .contains("<ol>\n<li>Confirm: <code>ss -tanp state close-wait dst REMOTE_IP")
        .contains("<a href=\"#close_wait\">close_wait</a>")
        .contains("<h2 id=\"a-host-that-stopped-reporting\">");
    assertThat(servlet).isNotNull();
  }

  @Test
  void everythingIsEscaped() {
    String page =
        new String(
            RunbookServlet.html(
                "# T\n\n## <b>x</b>\n\nA <script>alert(1)</script> `<i>` **\"q\"**"
                    + " [x](javascript:alert(1))\n- one\n  two\n- three\n"),
            StandardCharsets.UTF_8);
    assertThat(page)
        .doesNotContain("<script>", "<b>", "<i>", "href=\"javascript")
        .contains("<h2 id=\"b-x-b\">&lt;b&gt;x&lt;/b&gt;</h2>")
        .contains("&lt;script&gt;")
        .contains("<code>&lt;i&gt;</code>")
        .contains("<strong>&quot;q&quot;</strong>")
        .contains("<ul>\n<li>one two</li>\n<li>three</li>\n</ul>");
  }

  private static String packaged() throws Exception {
    try (var in = RunbookServlet.class.getResourceAsStream(RunbookServlet.RESOURCE)) {
      assertThat(in).as("RUNBOOK.md packaged at " + RunbookServlet.RESOURCE).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}

package io.handlewatch.collector.api;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code GET /runbook}: the RUNBOOK.md packaged with the collector, as a web page in which each
 * {@code ## section} carries its anchor ({@code #close_wait}, {@code #process_fds}, ...). An
 * alert's {@code runbook_url} points here when {@code detection.runbookUrl} is left relative, so a
 * pager's link opens the right section in any browser. Only the Markdown RUNBOOK.md uses is
 * rendered: headings, paragraphs, lists, {@code code}, bold and links; everything is escaped.
 */
public final class RunbookServlet extends HttpServlet {
  /** Where the runbook is served, under the application's context path. */
  public static final String PATH = "/runbook";

  /** Where the build puts RUNBOOK.md (collector/pom.xml copies it beside the fleet page). */
  static final String RESOURCE = ApiFactory.ASSETS + "RUNBOOK.md";

  private static final Pattern ITEM = Pattern.compile("^(\\s*)(-|\\d+\\.)\\s+(.*)$");
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");
  private static final Pattern BOLD = Pattern.compile("\\*\\*([^*]+)\\*\\*");
  private static final Pattern LINK = Pattern.compile("\\[([^\\]]+)\\]\\(([^)\\s]+)\\)");

  private final byte[] page;

  public RunbookServlet() {
    try (InputStream in = RunbookServlet.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            RESOURCE + " is not on the classpath: the collector was built without RUNBOOK.md");
      }
      page = html(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + RESOURCE, e);
    }
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    resp.setContentType("text/html;charset=utf-8");
    resp.setHeader("Cache-Control", "no-cache");
    resp.setContentLength(page.length);
    resp.getOutputStream().write(page);
  }

  /** The section anchor of a heading, as the fleet page's runbook view computes it too. */
  static String anchor(String heading) {
    return heading
        .strip()
        .toLowerCase(Locale.ROOT)
        .replaceAll("[^a-z0-9_]+", "-")
        .replaceAll("^-+|-+$", "");
  }

  static byte[] html(String markdown) {
    StringBuilder body = new StringBuilder();
    String title = "handlewatch runbook";
    List<String> paragraph = new ArrayList<>();
    List<String> items = new ArrayList<>();
    String list = null; // "ul" or "ol" while inside a list
    for (String line : (markdown + "\n").split("\n", -1)) {
      Matcher item = ITEM.matcher(line);
      boolean blank = line.isBlank();
      boolean heading = line.startsWith("#");
      boolean continuation = list != null && !blank && !heading && line.startsWith(" ");
      if (continuation && !item.matches()) {
        items.set(items.size() - 1, items.getLast() + " " + line.strip());
        continue;
      }
      if (item.matches() && item.group(1).isEmpty()) {
        flushParagraph(body, paragraph);
        String kind = item.group(2).equals("-") ? "ul" : "ol";
        if (list != null && !list.equals(kind)) list = flushList(body, list, items);
        list = kind;
        items.add(item.group(3));
        continue;
      }
      if (blank || heading) {
        flushParagraph(body, paragraph);
        list = flushList(body, list, items);
      }
      if (heading) {
        int level = line.indexOf(' ');
        String text = line.substring(level + 1).strip();
        if (level == 1) {
          title = text;
          body.append("<h1>").append(inline(text)).append("</h1>\n");
        } else {
          String tag = "h" + Math.min(level, 6);
          body.append('<')
              .append(tag)
              .append(" id=\"")
              .append(escape(anchor(text)))
              .append("\">")
              .append(inline(text))
              .append("</")
              .append(tag)
              .append(">\n");
        }
      } else if (!blank) {
        list = flushList(body, list, items);
        paragraph.add(line.strip());
      }
    }
    String doc =
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>%s</title>
        <style>
        body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
        code { background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
        h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
        :target { background: #fff6d6; }
        </style>
        </head>
        <body>
        %s</body>
        </html>
        """
            .formatted(escape(title), body);
    return doc.getBytes(StandardCharsets.UTF_8);
  }

  private static void flushParagraph(StringBuilder body, List<String> lines) {
    if (lines.isEmpty()) return;
    body.append("<p>").append(inline(String.join(" ", lines))).append("</p>\n");
    lines.clear();
  }

  private static String flushList(StringBuilder body, String list, List<String> items) {
    if (list == null) return null;
    body.append('<').append(list).append(">\n");
    for (String i : items) body.append("<li>").append(inline(i)).append("</li>\n");
    body.append("</").append(list).append(">\n");
    items.clear();
    return null;
  }

  /** Escapes, then renders code spans (their text as it is), bold and links. */
  static String inline(String text) {
    StringBuilder out = new StringBuilder();
    Matcher code = CODE.matcher(text);
    int at = 0;
    while (code.find()) {
      out.append(emphasis(text.substring(at, code.start())));
      out.append("<code>").append(escape(code.group(1))).append("</code>");
      at = code.end();
    }
    out.append(emphasis(text.substring(at)));
    return out.toString();
  }

  private static String emphasis(String text) {
    String s = BOLD.matcher(escape(text)).replaceAll("<strong>$1</strong>");
    return LINK.matcher(s).replaceAll(m -> Matcher.quoteReplacement(link(m)));
  }

  private static String link(java.util.regex.MatchResult m) {
    // The text is already escaped; so is the target, and only anchors and http(s) links are made.
    String href = m.group(2);
    if (!href.startsWith("#") && !href.startsWith("http://") && !href.startsWith("https://")) {
      return m.group();
    }
    return "<a href=\"" + href + "\">" + m.group(1) + "</a>";
  }

  static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;")
        .replace("'", "&#39;");
  }
}

package io.handlewatch.collector.notify;

/** What both notifiers share: a name, and one URL they POST JSON to. */
abstract class HttpNotifier implements Notifier {
  private final String name;
  protected final JsonPoster poster;

  HttpNotifier(String name, JsonPoster poster) {
    this.name = name;
    this.poster = poster;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final void close() {
    poster.close();
  }

  @Override
  public String toString() {
    return name + " (" + poster.uri() + ")";
  }
}

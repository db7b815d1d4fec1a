package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.agent.source.parse.SockstatParser;
import io.handlewatch.proto.v1.Sockstat;
import java.io.IOException;
import java.nio.file.NoSuchFileException;

/** Reads {@code /proc/net/sockstat} and, where IPv6 is enabled, {@code /proc/net/sockstat6}. */
public final class SockstatSource implements ProcSource<Sockstat> {
  private final ProcFs fs;

  public SockstatSource(ProcFs fs) {
    this.fs = fs;
  }

  @Override
  public Sockstat read(Problems problems) throws IOException, ProcParseException {
    Sockstat.Builder b = Sockstat.newBuilder();
    SockstatParser.parse(fs.display("net/sockstat"), fs.readSmall("net/sockstat"), b);
    try {
      SockstatParser.parse(fs.display("net/sockstat6"), fs.readSmall("net/sockstat6"), b);
    } catch (NoSuchFileException e) {
      // IPv6 disabled: sockstat6 is absent and so are its fields; that is not a problem.
    } catch (ProcParseException e) {
      problems.skip(e.getMessage());
    }
    return b.build();
  }
}

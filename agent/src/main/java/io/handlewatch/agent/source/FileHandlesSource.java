package io.handlewatch.agent.source;

import io.handlewatch.agent.source.parse.FileNrParser;
import io.handlewatch.agent.source.parse.Numbers;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.proto.v1.FileHandles;
import java.io.IOException;

/** Reads {@code /proc/sys/fs/file-nr} (allocated and max handles) and {@code fs.nr_open}. */
public final class FileHandlesSource implements ProcSource<FileHandles> {
  private final ProcFs fs;

  public FileHandlesSource(ProcFs fs) {
    this.fs = fs;
  }

  @Override
  public FileHandles read(Problems problems) throws IOException, ProcParseException {
    FileNrParser.FileNr nr =
        FileNrParser.parse(fs.display("sys/fs/file-nr"), fs.readSmall("sys/fs/file-nr"));
    FileHandles.Builder b = FileHandles.newBuilder().setAllocated(nr.allocated()).setMax(nr.max());
    if (nr.max() > 0) {
      b.setUsedRatio((double) nr.allocated() / nr.max());
    }
    try {
      String raw = fs.readSmall("sys/fs/nr_open").strip();
      b.setNrOpen(Numbers.parseUnsigned(raw, fs.display("sys/fs/nr_open"), 1, "nr_open"));
    } catch (IOException | ProcParseException e) {
      problems.skip(SourceErrors.describe(e));
    }
    return b.build();
  }
}

package io.handlewatch.agent.source;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * Reads fd links with java.nio: portable, and what copied /proc trees (fixtures) need, where the
 * links are ordinary symlinks. About 8 µs per fd on a live host, mostly allocation.
 */
public final class NioFdTableReader implements FdTableReader {
  @Override
  public Counts read(Path fdDir, LongConsumer socketInodes) throws IOException {
    long read = 0;
    long vanished = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(fdDir)) {
      for (Path fd : entries) {
        String target;
        try {
          target = Files.readSymbolicLink(fd).toString();
        } catch (NoSuchFileException e) {
          vanished++;
          continue;
        }
        read++;
        long inode = FdTableReader.socketInode(target);
        if (inode > 0) {
          socketInodes.accept(inode);
        }
      }
    }
    return new Counts(read, vanished);
  }
}

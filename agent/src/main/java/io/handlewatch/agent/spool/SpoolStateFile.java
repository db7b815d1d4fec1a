package io.handlewatch.agent.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * {@code spool.state}: what must outlive the process besides the reports themselves: how many
 * reports were dropped (so {@code health.dropped_reports} keeps counting across restarts) and the
 * highest seq acknowledged (so a restart does not resend what the collector already has). 32 bytes,
 * rewritten in place with one positional write: once created it never needs free space, so it can
 * still count the drops of a full disk.
 *
 * <pre>
 *   magic "HWSS" 4 | version 4 | dropped 8 | acked 8 | CRC32C of the 24 bytes before 4 | zero 4
 * </pre>
 */
final class SpoolStateFile implements AutoCloseable {
  static final String NAME = "spool.state";
  private static final int MAGIC = 0x48575353;
  private static final int VERSION = 1;
  private static final int SIZE = 32;

  /** The counts, as read at open. */
  record State(long dropped, long acked) {}

  private final Path file;
  private final FileChannel channel;
  private final State initial;
  private final boolean damaged;

  private SpoolStateFile(Path file, FileChannel channel, State initial, boolean damaged) {
    this.file = file;
    this.channel = channel;
    this.initial = initial;
    this.damaged = damaged;
  }

  /** Opens {@code dir/spool.state}, creating it (all zero counts) when missing. */
  static SpoolStateFile open(Path dir) throws IOException {
    Path file = dir.resolve(NAME);
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long size = ch.size();
      State state = new State(0, 0);
      boolean damaged = false;
      if (size > 0) {
        ByteBuffer b = ByteBuffer.allocate(SIZE);
        while (b.hasRemaining() && ch.read(b, b.position()) > 0) {}
        b.flip();
        if (b.remaining() == SIZE
            && b.getInt(0) == MAGIC
            && b.getInt(4) == VERSION
            && b.getInt(24) == crc(b.array())) {
          state = new State(b.getLong(8), b.getLong(16));
        } else {
          damaged = true;
        }
      }
      SpoolStateFile f = new SpoolStateFile(file, ch, state, damaged);
      if (size != SIZE || damaged) f.write(state.dropped(), state.acked(), true);
      return f;
    } catch (IOException e) {
      ch.close();
      throw e;
    }
  }

  private static int crc(byte[] first24) {
    CRC32C c = new CRC32C();
    c.update(first24, 0, 24);
    return (int) c.getValue();
  }

  State initial() {
    return initial;
  }

  /** Whether the file held something other than a valid state (its counts were lost). */
  boolean wasDamaged() {
    return damaged;
  }

  Path file() {
    return file;
  }

  void write(long dropped, long acked, boolean sync) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(SIZE);
    b.putInt(MAGIC).putInt(VERSION).putLong(dropped).putLong(acked);
    b.putInt(crc(b.array())).putInt(0).flip();
    long at = 0;
    while (b.hasRemaining()) at += channel.write(b, at);
    if (sync) channel.force(false);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}

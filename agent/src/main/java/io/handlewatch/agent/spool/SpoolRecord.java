package io.handlewatch.agent.spool;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * One report on disk, all integers big-endian:
 *
 * <pre>
 *   magic   4 bytes  "HWR1": where a reader resynchronises after a damaged record
 *   length  4 bytes  length of the payload
 *   seq     8 bytes  the report's seq
 *   crc     4 bytes  CRC32C of length, seq and payload
 *   payload          the HostReport, protobuf-encoded
 * </pre>
 *
 * The seq sits in the header so that a spool can be indexed without decoding a single report.
 */
final class SpoolRecord {
  static final int MAGIC = 0x48575231;
  static final int HEADER = 20;

  private SpoolRecord() {}

  /** Header and payload in one buffer, ready to write with one call. */
  static ByteBuffer encode(long seq, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length);
    b.putInt(MAGIC).putInt(payload.length).putLong(seq);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 4, 12);
    crc.update(payload);
    b.putInt((int) crc.getValue()).put(payload).flip();
    return b;
  }

  /** Bytes one report of {@code payloadLength} takes on disk. */
  static long framedSize(int payloadLength) {
    return HEADER + (long) payloadLength;
  }
}

package io.handlewatch.agent.source;

import io.handlewatch.proto.v1.TcpStateCounts;

/** The kernel's TCP states (include/net/tcp_states.h) and counting by state. */
public final class TcpState {
  public static final int ESTABLISHED = 1;
  public static final int SYN_SENT = 2;
  public static final int SYN_RECV = 3;
  public static final int FIN_WAIT1 = 4;
  public static final int FIN_WAIT2 = 5;
  public static final int TIME_WAIT = 6;
  public static final int CLOSE = 7;
  public static final int CLOSE_WAIT = 8;
  public static final int LAST_ACK = 9;
  public static final int LISTEN = 10;
  public static final int CLOSING = 11;
  public static final int NEW_SYN_RECV = 12;

  /** Highest state number, for arrays indexed by state. */
  public static final int MAX = 12;

  private static final String[] NAMES = {
    "UNKNOWN",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV"
  };

  private TcpState() {}

  /** The state's name as `ss` and netstat print it, or "UNKNOWN(n)". */
  public static String name(int state) {
    return state >= 1 && state <= MAX ? NAMES[state] : "UNKNOWN(" + state + ")";
  }

  /** Whether {@code state} is a state this build knows. */
  public static boolean isKnown(int state) {
    return state >= 1 && state <= MAX;
  }

  /** Counts indexed by state number (index 0 unused), as a proto message. */
  public static TcpStateCounts toProto(long[] byState) {
    return TcpStateCounts.newBuilder()
        .setEstablished(byState[ESTABLISHED])
        .setSynSent(byState[SYN_SENT])
        .setSynRecv(byState[SYN_RECV])
        .setFinWait1(byState[FIN_WAIT1])
        .setFinWait2(byState[FIN_WAIT2])
        .setTimeWait(byState[TIME_WAIT])
        .setClose(byState[CLOSE])
        .setCloseWait(byState[CLOSE_WAIT])
        .setLastAck(byState[LAST_ACK])
        .setListen(byState[LISTEN])
        .setClosing(byState[CLOSING])
        .setNewSynRecv(byState[NEW_SYN_RECV])
        .build();
  }
}

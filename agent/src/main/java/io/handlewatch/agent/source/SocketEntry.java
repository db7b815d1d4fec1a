package io.handlewatch.agent.source;

/**
 * One TCP socket as the kernel describes it. Mutable and reused by {@link SocketTable} readers, so
 * that a dump of 100k+ sockets allocates nothing per socket.
 *
 * <p>Addresses are kept in network byte order: 4 bytes for IPv4, 16 for IPv6.
 */
public final class SocketEntry {
  /** AF_INET. */
  public static final int AF_INET = 2;

  /** AF_INET6. */
  public static final int AF_INET6 = 10;

  int family;
  int state;
  int localPort;
  int remotePort;
  long inode;
  long receiveQueue;
  long sendQueue = -1;
  final byte[] localAddress = new byte[16];
  final byte[] remoteAddress = new byte[16];

  /** AF_INET (2) or AF_INET6 (10). */
  public int family() {
    return family;
  }

  /** Kernel TCP state number, 1 (ESTABLISHED) to 12 (NEW_SYN_RECV); see {@link TcpState}. */
  public int state() {
    return state;
  }

  public int localPort() {
    return localPort;
  }

  public int remotePort() {
    return remotePort;
  }

  /**
   * Socket inode, the link between the socket and the fds that hold it; 0 for TIME_WAIT and request
   * sockets.
   */
  public long inode() {
    return inode;
  }

  /**
   * idiag_rqueue (rx_queue of /proc/net/tcp). For a LISTEN socket: connections completed and
   * waiting for accept(). Readers fill it for LISTEN sockets only; 0 otherwise.
   */
  public long receiveQueue() {
    return receiveQueue;
  }

  /**
   * idiag_wqueue. For a LISTEN socket: the accept queue's bound (the backlog given to listen(),
   * capped by net.core.somaxconn). -1 when the reader cannot know it: /proc/net/tcp prints the send
   * queue of a listener (always 0) in that column, never its backlog.
   */
  public long sendQueue() {
    return sendQueue;
  }

  /** Sets the queue figures of a LISTEN socket; used by tests. */
  public SocketEntry queues(long receive, long send) {
    this.receiveQueue = receive;
    this.sendQueue = send;
    return this;
  }

  /** Length of the addresses: 4 for IPv4, 16 for IPv6. */
  public int addressLength() {
    return family == AF_INET ? 4 : 16;
  }

  /** Byte {@code i} of the local address, network order. */
  public byte localAddressByte(int i) {
    return localAddress[i];
  }

  /** Byte {@code i} of the remote address, network order. */
  public byte remoteAddressByte(int i) {
    return remoteAddress[i];
  }

  /**
   * The local address's own 16-byte buffer. The readers in {@code source.parse} and {@code
   * source.natives} write a socket's address straight into it and then call {@link #fill}, so that
   * a dump of 100k+ sockets copies each address once.
   */
  public byte[] localAddressBuffer() {
    return localAddress;
  }

  /** The remote address's own 16-byte buffer; see {@link #localAddressBuffer}. */
  public byte[] remoteAddressBuffer() {
    return remoteAddress;
  }

  /** Sets every scalar field of an entry whose address buffers the reader has just filled. */
  public SocketEntry fill(
      int family,
      int state,
      int localPort,
      int remotePort,
      long inode,
      long receiveQueue,
      long sendQueue) {
    this.family = family;
    this.state = state;
    this.localPort = localPort;
    this.remotePort = remotePort;
    this.inode = inode;
    this.receiveQueue = receiveQueue;
    this.sendQueue = sendQueue;
    return this;
  }

  /** Sets every field; used by readers and tests. Addresses are copied. */
  public SocketEntry set(
      int family,
      int state,
      byte[] local,
      int localPort,
      byte[] remote,
      int remotePort,
      long inode) {
    this.family = family;
    this.state = state;
    System.arraycopy(local, 0, localAddress, 0, addressLength());
    this.localPort = localPort;
    System.arraycopy(remote, 0, remoteAddress, 0, addressLength());
    this.remotePort = remotePort;
    this.inode = inode;
    this.receiveQueue = 0;
    this.sendQueue = -1;
    return this;
  }

  /** The remote endpoint as "ip:port", IPv6 in brackets. Allocates; not for the hot path. */
  public String remoteEndpoint() {
    return Endpoints.format(remoteAddress, addressLength(), remotePort);
  }

  /** The local endpoint as "ip:port", IPv6 in brackets. Allocates; not for the hot path. */
  public String localEndpoint() {
    return Endpoints.format(localAddress, addressLength(), localPort);
  }

  @Override
  public String toString() {
    return TcpState.name(state)
        + " "
        + localEndpoint()
        + " -> "
        + remoteEndpoint()
        + " inode "
        + inode;
  }
}

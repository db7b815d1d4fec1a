#!/usr/bin/env python3
"""A real, bounded CLOSE_WAIT leak on loopback, for bin/quickstart --demo.

One process, named "demo-leak": a server on 127.0.0.1 closes every connection it accepts at once,
and the client side (this same process) never closes its end, so each connection it makes stays
in CLOSE_WAIT holding a file descriptor: the classic leak. Bounded: at most --max sockets, one
every --every seconds, held for --hold seconds once the last is made; then everything is closed
and the process exits. Its soft RLIMIT_NOFILE is lowered to 1024 so the fd ETA is meaningful.

  closewait-leak.py [--every SECONDS] [--max N] [--hold SECONDS]
"""
import argparse
import ctypes
import resource
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description="a bounded CLOSE_WAIT leak on loopback")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between leaked sockets")
    ap.add_argument("--max", type=int, default=300, help="sockets leaked at most (1..900)")
    ap.add_argument("--hold", type=float, default=300.0, help="seconds to hold them at the end")
    a = ap.parse_args()
    if not 1 <= a.max <= 900 or a.every <= 0 or a.hold < 0:
        ap.error("--max must be 1..900, --every > 0, --hold >= 0")

    # The name the agent reports (comm) and the verdict names.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, b"demo-leak", 0, 0, 0)  # PR_SET_NAME
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    print(f"demo-leak: pid {ctypes.CDLL(None).getpid()} leaking one CLOSE_WAIT socket towards "
          f"127.0.0.1:{port} every {a.every:g} s, {a.max} at most, held {a.hold:g} s, then exits",
          flush=True)
    leaked = []
    try:
        for _ in range(a.max):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn, _ = server.accept()
            conn.close()  # the peer closes ...
            leaked.append(c)  # ... and this side never does: CLOSE_WAIT
            time.sleep(a.every)
        print(f"demo-leak: {len(leaked)} sockets in CLOSE_WAIT, holding them {a.hold:g} s",
              flush=True)
        time.sleep(a.hold)
    finally:
        for c in leaked:
            c.close()
        server.close()
    print(f"demo-leak: closed {len(leaked)} sockets, done", flush=True)


if __name__ == "__main__":
    main()

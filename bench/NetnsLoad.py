#!/usr/bin/env python3
"""Sockets spread over network namespaces, for bench/tcp-sample-bench.sh --netns.

  NetnsLoad.py NS_FILE FIRST COUNT SOCKETS_PER_NS

Enters each of the named namespaces NS_FILE lines FIRST..FIRST+COUNT-1 (setns through libc, as
`ip netns exec` does) and makes, on its loopback, the mix of the issue's 180,000-socket host scaled
to SOCKETS_PER_NS: 4/9 ESTABLISHED pairs (8/9 of the sockets), 1/18 CLOSE_WAIT (the server closed,
this process keeps its end), 1/18 TIME_WAIT (the client closed first). Sockets stay in the
namespace they were made in whatever namespace the process moves to, so one process holds
several namespaces' sockets (up to its RLIMIT_NOFILE). Prints READY and the counts, then holds
everything until stdin closes.
"""
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns " + name + ": " + os.strerror(e))
    finally:
        os.close(fd)


def fill(per_ns, held):
    pairs = per_ns * 4 // 9
    close_wait = per_ns // 18
    time_wait = per_ns // 18
    listeners = []
    # Several listeners so that one namespace can hold more connections than one port range.
    for _ in range(max(1, (pairs + close_wait + time_wait) // 20000 + 1)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        listeners.append(s)
        held.append(s)
    made = {"established": 0, "close_wait": 0, "time_wait": 0}
    i = 0

    def connect():
        nonlocal i
        srv = listeners[i % len(listeners)]
        i += 1
        c = socket.create_connection(srv.getsockname())
        a, _ = srv.accept()
        return c, a

    for _ in range(pairs):
        c, a = connect()
        held += [c, a]
        made["established"] += 2
    for _ in range(close_wait):
        c, a = connect()
        a.close()  # the client's end goes to CLOSE_WAIT and stays there
        held.append(c)
        made["close_wait"] += 1
    for _ in range(time_wait):
        c, a = connect()
        c.close()  # the client closes first: TIME_WAIT on its side once the server closes
        a.recv(1)
        a.close()
        made["time_wait"] += 1
    return made


def main():
    ns_file, first, count, per_ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with open(ns_file) as f:
        names = [l.strip() for l in f if l.strip()][first:first + count]
    held = []
    total = {"established": 0, "close_wait": 0, "time_wait": 0}
    for n in names:
        enter(n)
        for k, v in fill(per_ns, held).items():
            total[k] += v
    print("READY namespaces=%d %s" % (len(names), " ".join("%s=%d" % kv for kv in total.items())), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()

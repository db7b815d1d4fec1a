#!/usr/bin/env python3
"""The parts of counting one network namespace, timed apart, outside the agent.

  NetnsParts.py NAMES_FILE MEMBERS_FILE [REPS]

For each namespace named in NAMES_FILE (under /run/netns) it times, as the agent does them:
open + setns into it, opening a NETLINK_SOCK_DIAG socket there, one TCPDIAG_GETSOCK dump of every
state (the agent's request), closing the socket; then the same dump again through the socket kept
open (what the agent does from the second sample on), a dump of LISTEN only, and one of an empty
namespace made for the purpose. For each member pid in MEMBERS_FILE it times the per-namespace
/proc reads the sample makes (net/netstat, net/snmp, net/stat/nf_conntrack, cgroup, ns/net).
Prints one line per part: total ms and ms per namespace (median over REPS passes).
"""
import ctypes
import os
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)
ALL_STATES = 0x1FFE
LISTEN_ONLY = 1 << 10


def setns_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def dump(s, seq, states=ALL_STATES):
    # struct nlmsghdr + struct inet_diag_req (legacy TCPDIAG_GETSOCK: both families in one walk)
    req = struct.pack("=IHHII", 16 + 60, 18, 0x301, seq, 0) + bytes([2, 0, 0, 0]) + bytes(48) \
        + struct.pack("=II", states, 0)
    s.sendto(req, (0, 0))
    n = 0
    while True:
        b = s.recv(65536)
        off = 0
        while off + 16 <= len(b):
            ln, typ = struct.unpack_from("=IH", b, off)
            if typ == 3:
                return n
            if typ == 2:
                raise OSError("netlink error")
            n += 1
            off += (ln + 3) & ~3


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    members = [int(l) for l in open(sys.argv[2]) if l.strip()]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    parts = {k: [] for k in ("setns", "netlink open", "dump (all states)", "netlink close",
                             "dump again, socket kept", "dump LISTEN only",
                             "dump of an empty namespace")}
    empty = names[0] + "-empty"  # carries the run's namespace prefix
    os.system("ip netns add " + empty)
    sockets = 0
    try:
        for r in range(reps):
            acc = {k: 0.0 for k in parts}
            sockets = 0
            for i, n in enumerate(names):
                t0 = time.perf_counter()
                setns_path("/run/netns/" + n)
                t1 = time.perf_counter()
                s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
                t2 = time.perf_counter()
                sockets += dump(s, 1)
                t3 = time.perf_counter()
                dump(s, 2)
                t4 = time.perf_counter()
                dump(s, 3, LISTEN_ONLY)
                t5 = time.perf_counter()
                s.close()
                t6 = time.perf_counter()
                acc["setns"] += t1 - t0
                acc["netlink open"] += t2 - t1
                acc["dump (all states)"] += t3 - t2
                acc["dump again, socket kept"] += t4 - t3
                acc["dump LISTEN only"] += t5 - t4
                acc["netlink close"] += t6 - t5
            setns_path("/run/netns/" + empty)
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
            t0 = time.perf_counter()
            for i in range(len(names)):
                dump(s, 10 + i)
            acc["dump of an empty namespace"] = time.perf_counter() - t0
            s.close()
            libc.setns(home, CLONE_NEWNET)
            for k in parts:
                parts[k].append(acc[k])
        files = ("net/netstat", "net/snmp", "net/stat/nf_conntrack", "cgroup", "ns/net")
        reads = {f: [] for f in files}
        for r in range(reps):
            acc = {f: 0.0 for f in files}
            for p in members:
                for f in files:
                    t0 = time.perf_counter()
                    try:
                        if f == "ns/net":
                            os.readlink("/proc/%d/%s" % (p, f))
                        else:
                            fd = os.open("/proc/%d/%s" % (p, f), os.O_RDONLY)
                            while os.read(fd, 65536):
                                pass
                            os.close(fd)
                    except FileNotFoundError:
                        pass
                    acc[f] += time.perf_counter() - t0
            for f in files:
                reads[f].append(acc[f])
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.system("ip netns del " + empty)
    print("namespaces=%d sockets=%d reps=%d" % (len(names), sockets, reps))
    for k, v in parts.items():
        print("%s\t%.1f\t%.3f" % (k, median(v) * 1000, median(v) * 1000 / len(names)))
    for k, v in reads.items():
        print("read /proc/PID/%s\t%.1f\t%.3f" % (k, median(v) * 1000, median(v) * 1000 / max(1, len(members))))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# The resident set of a process by where it lives: the AOT cache (the agent's lib/*.aot), libjvm.so,
# the other files mapped (libraries, the runtime's modules image), glibc's malloc heap ([heap]), and
# the anonymous mappings the JVM makes itself (Java heap, code cache, metaspace, thread stacks; NMT
# tells those apart). Reads /proc/PID/smaps, or a saved copy of it.
#
#   bench/lib/smaps-breakdown.py [--referenced] [LABEL=]PID|SMAPS_FILE ...   (one column per process)
#
# --referenced counts the pages accessed since the process's reference bits were last cleared
# (echo 1 > /proc/PID/clear_refs) instead of all resident ones: the working set since then.
import re
import sys


FIELD = "Referenced" if "--referenced" in sys.argv[1:] else "Rss"


def breakdown(src):
    path = f"/proc/{src}/smaps" if src.isdigit() else src
    cats, cur = {}, None
    with open(path) as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \d+\s*(.*)$", line)
            if m:
                name = m.group(2)
                base = name.rsplit("/", 1)[-1]
                if base.endswith(".aot") or base.endswith(".jsa"):
                    cur = "AOT cache / CDS archive (file mapping)"
                elif base == "libjvm.so":
                    cur = "libjvm.so"
                elif name == "[heap]":
                    cur = "glibc malloc heap ([heap])"
                elif name.startswith("["):
                    cur = "stack, vdso ([stack], ...)"
                elif name:
                    cur = "other files (libc, JDK libraries, modules image)"
                else:
                    cur = "anonymous (Java heap, code cache, metaspace, thread stacks, malloc arenas)"
                continue
            m = re.match(rf"^{FIELD}:\s+(\d+) kB", line)
            if m and cur:
                cats[cur] = cats.get(cur, 0) + int(m.group(1))
    return cats


args = [a.partition("=") if "=" in a else (a, "", a) for a in sys.argv[1:] if a != "--referenced"]
cols = [breakdown(src) for _, _, src in args]
keys = sorted({k for c in cols for k in c}, key=lambda k: -max(c.get(k, 0) for c in cols))
print(f"| {'resident' if FIELD == 'Rss' else 'referenced'} (MiB) | " + " | ".join(label for label, _, _ in args) + " |")
print("| --- |" + " ---: |" * len(cols))
for k in keys:
    print(f"| {k} | " + " | ".join(f"{c.get(k, 0) / 1024:.1f}" for c in cols) + " |")
print("| **total** | " + " | ".join(f"**{sum(c.values()) / 1024:.1f}**" for c in cols) + " |")

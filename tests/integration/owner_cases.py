#!/usr/bin/env python3
"""Processes whose sockets only a task_file iterator can attribute, for
tests/integration/test_owners_bpf.py (Python 3 stdlib only).

Usage: owner_cases.py MODE COUNT [ARGS...]

    unshared COUNT   two UDP sockets in the main thread; then a thread
                     that unshares its fd table (unshare(CLONE_FILES))
                     and opens COUNT more, which /proc/PID/fd (the main
                     thread's table) does not show.
    orphaned COUNT   a thread opens COUNT UDP sockets and starts two more
                     threads; the main thread exits (SYS_exit), so
                     /proc/PID/fd is empty while the process lives on.
    many COUNT       forks COUNT children that each open one UDP socket:
                     the iterator then writes a task record with nearly
                     every fd record, so its reads end on task records.
    churn SECONDS    forks children that open a UDP socket and exit at
                     once, over and over, for at most SECONDS.
    nested COUNT PORTVIEW
                     (run as PID 1 of a new PID namespace) opens COUNT
                     UDP sockets and runs PORTVIEW --json -an with
                     PORTVIEW_OWNERS=bpf, then =proc.

Except for nested, it prints one JSON line once ready: {"pid", "comm",
"shared": [[fd, port]...] (in both tables or the only one), "own":
[[fd, port]...] (only in the unshared thread's table)}, then lives until
its standard input is closed.  nested prints {"pid", "ports", "bpf",
"proc"} (the two outputs) and exits.
"""

import ctypes
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time

CLONE_FILES = 0x400
PR_SET_NAME = 15
SYS_EXIT = {"x86_64": 60, "aarch64": 93, "riscv64": 93}
libc = ctypes.CDLL(None, use_errno=True)
keep = []


def set_comm(name):
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0)


def udp(n):
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        keep.append(s)
        out.append([s.fileno(), s.getsockname()[1]])
    return out


def report(**kw):
    sys.stdout.write(json.dumps(dict(pid=os.getpid(), **kw)) + "\n")
    sys.stdout.flush()


def wait_stdin_then_exit():
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


def unshared(count):
    set_comm("pv-unshared")
    shared = udp(2)
    ready = threading.Event()
    own = []

    def thread():
        if libc.unshare(CLONE_FILES) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        own.extend(udp(count))
        ready.set()
        threading.Event().wait()

    threading.Thread(target=thread, daemon=True).start()
    ready.wait()
    report(comm="pv-unshared", shared=shared, own=own)
    wait_stdin_then_exit()


def orphaned(count):
    set_comm("pv-orphaned")
    nr = SYS_EXIT.get(platform.machine())
    if nr is None:
        raise SystemExit("no SYS_exit number for " + platform.machine())

    def thread():
        socks = udp(count)
        for _ in range(2):  # more threads sharing this table
            threading.Thread(target=threading.Event().wait, daemon=True).start()
        # Wait for the main thread to be a zombie (its state is the
        # process's in /proc/self/stat).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open("/proc/self/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            raise SystemExit("main thread did not exit")
        report(comm="pv-orphaned", shared=socks, own=[])
        wait_stdin_then_exit()

    threading.Thread(target=thread).start()
    time.sleep(0.1)
    libc.syscall(nr, 0)  # only this thread exits


def many(count):
    set_comm("pv-many")
    r, w = os.pipe()
    children = []
    for _ in range(count):
        rs, ws = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.close(rs)
            set_comm("pv-many-child")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            os.write(ws, b"%d %d\n" % (s.fileno(), s.getsockname()[1]))
            os.close(ws)
            os.read(r, 1)  # until the parent has gone
            os._exit(0)
        os.close(ws)
        with os.fdopen(rs) as f:
            fd, port = f.read().split()
        children.append([pid, int(fd), int(port)])
    os.close(r)
    report(comm="pv-many-child", shared=[], own=[], children=children)
    wait_stdin_then_exit()


def churn(seconds):
    set_comm("pv-churn")
    report(comm="pv-churn", shared=[], own=[])
    deadline = time.monotonic() + seconds
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                     daemon=True).start()
    while not stop.is_set() and time.monotonic() < deadline:
        pid = os.fork()
        if pid == 0:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            os._exit(0)
        os.waitpid(pid, 0)
    os._exit(0)


def nested(count, portview):
    socks = udp(count)
    out = {}
    for mode in ("bpf", "proc"):
        env = dict(os.environ, PORTVIEW_OWNERS=mode)
        r = subprocess.run([portview, "--json", "-an"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        out[mode] = {"rc": r.returncode, "stdout": r.stdout,
                     "stderr": r.stderr}
    report(ports=[p for _, p in socks], **out)


def main():
    mode, arg = sys.argv[1], int(sys.argv[2])
    if mode == "unshared":
        unshared(arg)
    elif mode == "orphaned":
        orphaned(arg)
    elif mode == "many":
        many(arg)
    elif mode == "churn":
        churn(arg)
    elif mode == "nested":
        nested(arg, sys.argv[3])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()

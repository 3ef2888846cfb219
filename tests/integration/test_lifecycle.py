#!/usr/bin/env python3
"""portview --events from the BPF lifecycle source, on connections this
test makes in a private network namespace (and the sock_diag source on
the same ones, for comparison).

1. 200 connections that each live well under 5 ms (connect, send N bytes,
   shut the sending side, read 50, close): exactly 200 opens and 200
   closes of the client ends, each owned by the process that connected
   (its PID and name), each close with bytes_sent equal to the N that
   connection sent, bytes_received 50 and a duration; every record says
   "source": "bpf".
2. The same with PORTVIEW_EVENTS=diag: at least every close (the sockets
   no dump saw, with their addresses); the first text line names the
   source.
3. A reset by the peer: reported once, as received, and the close; a
   reset sent by a TIME_WAIT socket, with that socket's own ports;
   --all-netns labels this namespace's events with it; with a state list
   and a far port (the filter the program applies itself), exactly the
   accepted end's events those keep, owned by a listener the stream saw
   open (its open passes the program's filter though it does not match).
4. A storm of connections as fast as loopback allows: every open and
   close reported, or the missing ones counted by "lost" events.
5. --events under steady churn: its resident memory flat (the long soak
   is bench/events-cost's).

    test_lifecycle.py [--part events|soak]

Two meson tests: it_lifecycle (--part events, parts 1-4) and
it_lifecycle_soak (--part soak, part 5).  scripts/test's whole run gives
the soak to the unsanitized build alone: under ASan the heap grows with
its quarantine, so the flat-heap check means nothing there, and LSan's
check at exit is every part's.  Without --part, all five.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# A server and a client in their own processes: the client's PID is the
# one the events must name.  The server reads to the end, answers 50
# bytes and closes; the client sends its N bytes, shuts its side, reads
# the answer and closes, then says "port N" of each connection.
SERVER = r"""
import socket, sys, threading
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(4096)
print("ready", flush=True)
while True:
    s, _ = l.accept()
    while s.recv(65536):
        pass
    s.sendall(b"y" * 50)
    s.close()
"""

CLIENT = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"pv-lc-client", 0, 0, 0)
import struct
port, count, quiet = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] != "all"
# rst: closed by a reset after the answer, so that no TIME_WAIT piles up
rst = sys.argv[3] == "rst"
for i in range(count):
    n = 100 + i % 900
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"x" * n)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    lport = c.getsockname()[1]
    if rst:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    if not quiet:
        print("%d %d" % (lport, n))
print("done", flush=True)
"""


Stream = common.EventStream


def start_server(port):
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(port)],
                         stdout=subprocess.PIPE)
    common.wait_until(lambda: p.stdout.readline() == b"ready\n",
                      "the server on port %d" % port)
    return p


def run_client(port, count, quiet=False, rst=False):
    """(client pid, {local port: bytes sent})."""
    mode = "rst" if rst else "quiet" if quiet else "all"
    p = subprocess.Popen([sys.executable, "-c", CLIENT, str(port), str(count), mode],
                         stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=common.scaled(120))
    sent = {}
    for line in out.decode().splitlines():
        if line != "done":
            lport, n = line.split()
            sent[int(lport)] = int(n)
    return p.pid, sent


def ready(s, probe_port, json_mode=True):
    """Connect to probe_port until the stream reports one opened: it is
    loaded and its first dump done."""
    for _ in range(200):
        run_client(probe_port, 1, quiet=True)
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            s.poll(0.05)
            if any(":%d " % probe_port in l or '"port": %d,' % probe_port in l
                   for l in s.lines):
                return
    raise RuntimeError("the stream reported no probe connection")


def of_port(docs, port, event):
    return [d for d in docs if d["event"] == event and d["foreign"]["port"] == port]


# ---------------------------------------------------------------------------
# 1. short connections, every one

def short_bpf(c, binary):
    srv, probe = start_server(7600), start_server(7601)
    s = Stream(binary, ["--json", "--dport", "7600,7601"])
    try:
        ready(s, 7601)
        pid, sent = run_client(7600, 200)
        s.wait(lambda l: sum('"closed"' in x and '"port": 7600,' in x for x in l) >= 200,
               "200 closes of connections to port 7600")
        time.sleep(0.3)  # nothing more may come
        s.poll(0.1)
    finally:
        rc, err = s.stop()
        srv.kill()
        probe.kill()
    docs = s.docs()
    opened, closed = of_port(docs, 7600, "opened"), of_port(docs, 7600, "closed")
    c.eq((rc, err), (0, ""), "BPF: exit 0, stderr empty")
    c.eq((len(opened), len(closed), len(sent)), (200, 200, 200),
         "BPF: 200 connections, 200 opens and 200 closes")
    c.ok(all(d["source"] == "bpf" for d in docs), "BPF: every record says source bpf")
    owners = {(o["pid"], o["program"]) for d in opened + closed for o in d["owners"]}
    c.eq(owners, {(pid, "pv-lc-client")},
         "BPF: every open and close owned by the connecting process (pid %d)" % pid)
    c.eq(sorted((d["local"]["port"], d["bytes_sent"], d["bytes_received"]) for d in closed),
         sorted((p, n, 50) for p, n in sent.items()),
         "BPF: each close with the bytes its connection sent, and the 50 received")
    c.ok(all(isinstance(d["duration_ms"], (int, float)) and 0 < d["duration_ms"] < 5000
             for d in closed), "BPF: each close with its duration",
         repr([d["duration_ms"] for d in closed[:5]]))
    c.eq(sorted(d["local"]["port"] for d in opened), sorted(sent),
         "BPF: the opens are of the connections made, each once")


# ---------------------------------------------------------------------------
# 2. the sock_diag source on the same

def short_diag(c, binary):
    srv, probe = start_server(7610), start_server(7611)
    s = Stream(binary, ["--interval", "60", "--dport", "7610,7611"], source="diag")
    try:
        s.wait(lambda l: len(l) >= 2, "the source line and the header")
        ready(s, 7611)
        pid, sent = run_client(7610, 200)
        s.wait(lambda l: sum(" closed " in x and ":7610 " in x for x in l) >= 200,
               "200 closes of connections to port 7610")
    finally:
        rc, err = s.stop()
        srv.kill()
        probe.kill()
    c.eq(s.lines[0], "Source: sock_diag (closes at once; opens and changes from a dump "
         "every 60 s)", "diag: the first line names the source")
    closed = {int(l.split()[3].rsplit(":", 1)[1]) for l in s.lines
              if " closed " in l and ":7610 " in l}
    c.ok(set(sent) <= closed, "diag: every one of the 200 closes, though no dump saw "
         "them (%d of %d)" % (len(set(sent) & closed), len(sent)))
    c.eq((rc, err), (0, ""), "diag: exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 3. a reset by the peer

RESETTER = r"""
import socket, struct
l = socket.socket()
l.bind(("127.0.0.1", 7620))
l.listen()
c = socket.create_connection(("127.0.0.1", 7620))
s, _ = l.accept()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
try:
    c.recv(10)
except ConnectionResetError:
    print("reset", c.getsockname()[1], flush=True)
c.close()
"""


def reset(c, binary):
    s = Stream(binary, ["--json", "--dport", "7620,7621"])
    probe = start_server(7621)
    try:
        ready(s, 7621)
        out = subprocess.run([sys.executable, "-c", RESETTER], stdout=subprocess.PIPE,
                             check=True, timeout=common.scaled(30)).stdout.decode().split()
        port = int(out[1])
        s.wait(lambda l: any('"closed"' in x and '"port": %d,' % port in x for x in l),
               "the close of the connection reset")
        time.sleep(0.3)
        s.poll(0.1)
    finally:
        rc, err = s.stop()
        probe.kill()
    mine = [d for d in s.docs() if d["local"]["port"] == port]
    c.eq([(d["event"], d.get("direction")) for d in mine if d["event"] != "changed"],
         [("opened", None), ("reset", "received"), ("closed", None)],
         "a reset by the peer: reported once, as received, then the close")
    c.eq((rc, err), (0, ""), "reset: exit 0, stderr empty")


def reset_time_wait(c, binary):
    """A reset sent by a TIME_WAIT socket (no full socket behind it): the
    ends as the kernel holds them, --sport judged on its own port."""
    s = Stream(binary, ["--json", "--sport", "30671,7671"])
    probe = start_server(7671)
    try:
        ready(s, 7671)
        lst = socket.socket()
        lst.bind(("127.0.0.1", 7672))
        lst.listen()
        a = socket.socket()
        # fixed client ports sit below the ephemeral range (32768-60999):
        # the connections made before leave TIME_WAIT sockets on ports in
        # it, and a bind to one of those fails with EADDRINUSE
        a.bind(("127.0.0.1", 30671))
        a.connect(("127.0.0.1", 7672))
        b, _ = lst.accept()
        # closed at once: FIN_WAIT_2 hands over to a TIME_WAIT socket
        a.close()
        s.wait(lambda l: any('"closed"' in x and '"port": 30671,' in x for x in l),
               "the close of the end that closed first")
        # data after its close: that socket answers with a reset
        b.sendall(b"late")
        s.wait(lambda l: any('"reset"' in x for x in l), "the reset")
        time.sleep(0.3)
        s.poll(0.1)
        b.close()
        lst.close()
    finally:
        rc, err = s.stop()
        probe.kill()
    mine = [(d["event"], d["state"], d["local"]["port"], d["foreign"]["port"],
             d.get("direction"), d.get("reason"))
            for d in s.docs() if 7672 in (d["local"]["port"], d["foreign"]["port"])]
    c.eq(mine, [("opened", "ESTABLISHED", 30671, 7672, None, None),
                ("changed", "FIN_WAIT_1", 30671, 7672, None, None),
                ("changed", "FIN_WAIT_2", 30671, 7672, None, None),
                ("closed", "FIN_WAIT_2", 30671, 7672, None, None),
                ("reset", "TIME_WAIT", 30671, 7672, "sent", "tcp_timewait_socket")],
         "--sport 30671: the reset its TIME_WAIT socket sent, with its own ports")
    c.eq((rc, err), (0, ""), "TIME_WAIT reset: exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 3b. --all-netns: this namespace's connection, labelled with it

def all_netns(c, binary):
    srv = start_server(7650)
    s = Stream(binary, ["--json", "--all-netns", "--dport", "7650"])
    try:
        # the probe that says the stream is ready may have opened before
        # the programs were attached (under load, often): three more after
        ready(s, 7650)
        _, sent = run_client(7650, 3)

        def opened(lines):
            return [d for d in (json.loads(l) for l in lines if l.startswith("{"))
                    if d["event"] == "opened" and d["local"]["port"] in sent]
        s.wait(lambda lines: len(opened(lines)) >= 3, "the opens of three connections")
    finally:
        rc, err = s.stop()
        srv.kill()
    ino = os.stat("/proc/self/ns/net").st_ino
    mine = opened(s.lines)
    c.ok(sorted(d["local"]["port"] for d in mine) == sorted(sent) and
         all(d["netns"]["inode"] == ino and d["source"] == "bpf" for d in mine),
         "--all-netns: the opens of this namespace's connections, labelled with its "
         "inode", repr([(d["local"]["port"], d.get("netns"), d.get("source"))
                        for d in mine]))
    c.eq((rc, err), (0, ""), "--all-netns: exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 3c. the filter the program applies itself: a state list and a far port
# that the accepted end matches and its listener does not

LISTENER = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"pv-lc-listener", 0, 0, 0)
l = socket.socket()
l.bind(("127.0.0.1", 7660))
l.listen()
print("ready", flush=True)
s, _ = l.accept()
while s.recv(65536):
    pass
s.close()
sys.stdin.readline()
"""


def filtered(c, binary):
    s = Stream(binary, ["--json", "--state", "established,last-ack", "--dport", "30660,7661"])
    probe = start_server(7661)
    lst = None
    try:
        ready(s, 7661)
        # opened after the stream's dump: only its own open names the
        # owner of the connection it accepts
        lst = subprocess.Popen([sys.executable, "-c", LISTENER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        common.wait_until(lambda: lst.stdout.readline() == b"ready\n", "the listener")
        cl = socket.socket()
        cl.bind(("127.0.0.1", 30660))
        cl.connect(("127.0.0.1", 7660))
        cl.sendall(b"x" * 300)
        cl.shutdown(socket.SHUT_WR)
        while cl.recv(4096):
            pass
        cl.close()
        s.wait(lambda l: any('"closed"' in x and '"port": 30660,' in x for x in l),
               "the close of the accepted end")
        time.sleep(0.3)
        s.poll(0.1)
    finally:
        rc, err = s.stop()
        probe.kill()
        if lst:
            lst.kill()
    mine = [(d["event"], d["state"], d["local"]["port"], d["foreign"]["port"],
             sorted((o["pid"], o["program"]) for o in d["owners"]))
            for d in s.docs() if 7660 in (d["local"]["port"], d["foreign"]["port"])]
    owner = [(lst.pid, "pv-lc-listener")]
    c.eq(mine, [("opened", "ESTABLISHED", 7660, 30660, owner),
                ("changed", "LAST_ACK", 7660, 30660, owner),
                ("closed", "LAST_ACK", 7660, 30660, owner)],
         "--state established,last-ack --dport 30660: the accepted end's open, its "
         "change to LAST_ACK and its close, owned by the listener that opened after "
         "the stream; not CLOSE_WAIT, not the listener, not the client's end")
    c.eq((rc, err), (0, ""), "filtered: exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 4. a storm

STORM = 20000


def storm(c, binary):
    srv, probe = start_server(7630), start_server(7631)
    s = Stream(binary, ["--json", "--dport", "7630,7631"])
    counts = {"opened": 0, "closed": 0, "lost": 0}

    def count(timeout):
        """Count what came, raw (a reader that keeps up: a slow one fills
        portview's pipe, then its ring buffer)."""
        r, _, _ = select.select([s.p.stdout], [], [], timeout)
        if not r:
            return False
        data = s.buf + os.read(s.p.stdout.fileno(), 1 << 22)
        whole, _, s.buf = data.rpartition(b"\n")
        for k in ("opened", "closed"):
            counts[k] += whole.count(b'"event": "%s"' % k.encode())
        if b'"lost"' in whole:
            for line in whole.split(b"\n"):
                if b'"event": "lost"' in line:
                    counts["lost"] += json.loads(line)["count"]
        return True
    try:
        ready(s, 7631)
        s.lines = []
        client = subprocess.Popen([sys.executable, "-c", CLIENT, "7630", str(STORM), "quiet"],
                                  stdout=subprocess.DEVNULL)
        t0 = time.monotonic()
        while client.poll() is None:
            count(0.05)
        took = time.monotonic() - t0
        deadline = time.monotonic() + common.scaled(30)
        with common.waiting_for("the storm's events (%r)" % counts):
            while (counts["closed"] + counts["lost"] < STORM and
                   time.monotonic() < deadline):
                count(0.2)
        while count(0.5):  # what is still on its way: until a quiet half second
            pass
    finally:
        rc, err = s.stop()
        srv.kill()
        probe.kill()
    missing = max(0, STORM - counts["opened"]) + max(0, STORM - counts["closed"])
    c.ok(missing <= counts["lost"],
         "storm: %d connections in %.1f s: %d opens and %d closes reported, %d records "
         "reported lost" % (STORM, took, counts["opened"], counts["closed"], counts["lost"]))
    c.eq((rc, err), (0, ""), "storm: exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 5. memory under churn

def anon_kb(pid):
    """The process's anonymous resident memory (its heap: not the ring
    buffer's mapping, whose pages count as they are first read)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def soak(c, binary, seconds):
    srv = start_server(7640)
    s = Stream(binary, ["--json", "--dport", "7640", "--interval", "0.5"])
    try:
        ready(s, 7640)
        samples = []  # (seconds since the start, kB)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            run_client(7640, 300, rst=True)
            while s.poll(0):
                pass
            s.lines = s.lines[-10:]
            samples.append((time.monotonic() - t0, anon_kb(s.p.pid)))
    finally:
        rc, err = s.stop()
        srv.kill()
    # once its buffers have grown to their size (the first 40%), flat
    # within 2 MiB: the least of the last three against the least of the
    # first three (a leak of 100 bytes an event would be several MiB)
    settled = [kb for t, kb in samples if t > 0.4 * seconds]
    if os.environ.get("PORTVIEW_SANITIZED") == "1":
        # ASan keeps freed memory in quarantine: its heap grows; LSan's
        # report at exit (stderr, checked below) is the leak check there
        c.ok(len(settled) >= 6, "soak: %d s of churn (sanitized: leaks are LSan's, at exit)"
             % seconds)
        c.eq((rc, err), (0, ""), "soak: exit 0, stderr empty")
        return
    c.ok(len(settled) >= 6 and min(settled[-3:]) - min(settled[:3]) <= 2048,
         "soak: %d s of churn, heap flat (kB: %s)" % (seconds, [kb for _, kb in samples]))
    c.eq((rc, err), (0, ""), "soak: exit 0, stderr empty")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("events", "soak"))
    part = ap.parse_args().part
    common.enter_netns()
    binary = common.require_portview()
    c = common.Checker()
    # PORTVIEW_EVENTS=bpf fails at once where the source cannot load
    probe = subprocess.Popen([binary, "--events"], env=dict(os.environ, PORTVIEW_EVENTS="bpf"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        probe.wait(timeout=common.scaled(3))
    except subprocess.TimeoutExpired:
        probe.kill()
    bpf = b"cannot load the BPF lifecycle source" not in probe.communicate()[1]
    if part != "soak":
        short_diag(c, binary)
    if not bpf:
        if part == "soak":
            print("SKIP: the BPF lifecycle source does not load here")
            sys.exit(77)
        print("SKIP: the BPF lifecycle source does not load here (parts 1, 3-5)")
        c.finish()
        return
    if part != "soak":
        short_bpf(c, binary)
        reset(c, binary)
        reset_time_wait(c, binary)
        all_netns(c, binary)
        filtered(c, binary)
        storm(c, binary)
    if part != "events":
        soak(c, binary, int(os.environ.get("PORTVIEW_SOAK_SECONDS", "12")))
    c.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""--kill closes exactly the TCP sockets its filters select, as ss -K.

In a private network namespace this script holds two listeners
(127.0.0.1:7100 and 127.0.0.1:7200) and three connections: two to 7100,
one to 7200.  Then:
  - --kill alone, -u with it and --dry-run without it are usage errors
    (exit 2, one line on stderr, nothing on stdout);
  - --kill --dport 7100 --dry-run lists exactly the two client sockets,
    one "would close" line each, and closes none;
  - the same without CAP_NET_ADMIN names each with the permission reason,
    counts them, exits 1, and closes none;
  - --kill --dport 7100 prints a "closed" line for each, exits 0: their
    peers read a reset, the connection to 7200 and both listeners live on;
    run again, nothing matches (exit 0, said on stderr);
  - --kill --sport 7200 closes the listener and its accepted socket: a
    new connection to 7200 is refused;
  - a connection moving data, closed by --kill while portview -i --json
    0.3 watches it: its closed row's rate is null, not the rate it had;
  - with --all-netns, the connections to 7500 here and in another network
    namespace (a child's, unshare -n) are both closed, each in its own.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NO_NET_ADMIN = ["setpriv", "--bounding-set=-net_admin",
                "--inh-caps=-net_admin", "--"]


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def connect(listener):
    c = socket.create_connection(listener.getsockname(), timeout=5)
    a, _ = listener.accept()
    for s in (c, a):
        s.settimeout(common.scaled(5))
    return c, a


def alive(pair):
    """Whether a connection still carries data both ways."""
    c, a = pair
    try:
        c.sendall(b"ping")
        if a.recv(4) != b"ping":
            return False
        a.sendall(b"pong")
        return c.recv(4) == b"pong"
    except OSError:
        return False


def peer_reads(s):
    """What the peer of a closed socket reads: the errno, or the bytes."""
    try:
        return s.recv(4)
    except OSError as e:
        return e.errno


def line(verb, c, comm):
    """What --kill prints for client socket c (to port 7100 or 7200)."""
    lp = c.getsockname()[1]
    rp = c.getpeername()[1]
    return "%s TCP 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED held by %d/%s" % (
        verb, lp, rp, os.getpid(), comm)


def usage_errors(ck, binary):
    cases = [
        (["--kill"], "portview: --kill needs a filter to say which sockets "
         "to close: --state, --port, --sport, --dport, --src, --dst, --pid, "
         "--command, --class, --dev or --no-loopback\n"),
        (["--kill", "-t", "-a"], None),
        (["--kill", "-u", "--dport", "7100"],
         "portview: -u cannot be combined with --kill: it closes the TCP "
         "sockets the filters select (the filters, -t, -N, --all-netns and "
         "--dry-run apply)\n"),
        (["--dry-run", "--dport", "7100"],
         "portview: --dry-run needs --kill (as in portview --kill --dport 443 "
         "--dry-run)\n"),
        (["--kill", "--dport", "7100", "-i", "1"], None),
    ]
    for args, want in cases:
        rc, out, err = common.run_portview(args, binary)
        ck.eq((rc, out, err.count("\n")), (2, "", 1),
              "portview %s: exit 2, one line on stderr" % " ".join(args))
        if want:
            ck.eq(err, want, "portview %s: its message" % " ".join(args))


def closed_rate_in_stream(ck, binary):
    l = listen(7300)
    c, a = connect(l)
    stop = threading.Event()

    def pump():  # about 6 MB/s, not as fast as loopback goes
        while not stop.is_set():
            try:
                c.sendall(b"x" * 65536)
            except OSError:
                return
            time.sleep(0.01)

    def drain():
        while True:
            try:
                if not a.recv(65536):
                    return
            except OSError:
                return

    threads = [threading.Thread(target=f, daemon=True) for f in (pump, drain)]
    for t in threads:
        t.start()
    port = c.getsockname()[1]
    p = common.start_portview(binary, ["-n", "-i", "--json", "0.3", "--dport",
                                       "7300", "--count", "40"])
    rates, closed, killed = [], [], False
    try:
        with common.waiting_for("the connection's rate, then its close, in "
                                "portview -i --json 0.3"):
            for raw in iter(p.stdout.readline, b""):
                mine = [o for o in json.loads(raw)["sockets"]
                        if o["local"]["port"] == port]
                if not mine:
                    continue
                if mine[0]["change"] == "closed":
                    closed.append(mine[0]["rate"])
                    break
                if mine[0]["rate"] and mine[0]["rate"]["sent"] > 0:
                    rates.append(mine[0]["rate"]["sent"])
                if len(rates) >= 2 and not killed:
                    rc, out, err = common.run_portview(
                        ["--kill", "--dport", "7300"], binary)
                    killed = (rc, err) == (0, "")
    finally:
        stop.set()
        p.kill()
        p.wait()
    ck.ok(len(rates) >= 2 and killed, "a connection sending data has a "
          "rate in the stream, and --kill closes it", repr(rates))
    ck.eq(closed, [None], "its closed row's rate is null, not its last "
          "(%s B/s)" % (rates[-1] if rates else "?"))


# A connection to 127.0.0.1:7500 held in a namespace of its own: its
# client port on the first line, then, once told, what the client reads.
OTHER_NS = r"""
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 7500)); s.listen()
c = socket.create_connection(("127.0.0.1", 7500)); a, _ = s.accept()
print(c.getsockname()[1], flush=True)
sys.stdin.readline()
c.settimeout(10)
try:
    print(c.recv(4), flush=True)
except OSError as e:
    print(e.errno, flush=True)
"""


def all_netns(ck, binary, comm):
    child = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", "ip link set lo up && exec \"$0\" -c "
         "\"$1\"", sys.executable, OTHER_NS],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        with common.waiting_for("the other namespace's connection"):
            theirs = int(child.stdout.readline())
        l = listen(7500)
        mine = connect(l)
        rc, out, err = common.run_portview(
            ["--kill", "--dport", "7500", "--all-netns"], binary)
        child.stdin.write("go\n")
        child.stdin.flush()
        with common.waiting_for("what the other namespace's client read"):
            read = child.stdout.readline().strip()
    finally:
        child.kill()
        child.wait()
    ck.eq((rc, err), (0, ""), "--kill --all-netns: exit 0")
    ck.eq(sorted(out.splitlines()), sorted([
        "closed TCP 127.0.0.1:%d -> 127.0.0.1:7500 ESTABLISHED in host held "
        "by %d/%s" % (mine[0].getsockname()[1], os.getpid(), comm),
        "closed TCP 127.0.0.1:%d -> 127.0.0.1:7500 ESTABLISHED in pid:%d held "
        "by %d/python3" % (theirs, child.pid, child.pid)]),
        "--kill --all-netns closes the connection in each namespace")
    ck.eq((peer_reads(mine[0]), read),
          (errno.ECONNABORTED, str(errno.ECONNABORTED)),
          "both clients read ECONNABORTED")


def main():
    common.enter_netns()
    binary = common.require_portview()
    if not shutil.which("setpriv"):
        print("SKIP: setpriv not found")
        sys.exit(common.SKIP)
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    ck = common.Checker()
    usage_errors(ck, binary)

    l1, l2 = listen(7100), listen(7200)
    p1, p2, p3 = connect(l1), connect(l1), connect(l2)
    doomed = sorted([p1, p2], key=lambda p: p[0].getsockname()[1])
    want = "".join(line("would close", c, comm) + "\n" for c, _ in doomed)

    rc, out, err = common.run_portview(
        ["--kill", "--dport", "7100", "--dry-run"], binary)
    ck.eq((rc, err), (0, ""), "--kill --dport 7100 --dry-run: exit 0")
    ck.eq(out, want, "--dry-run lists exactly the two connections to 7100")
    ck.ok(all(alive(p) for p in (p1, p2, p3)), "--dry-run closes nothing")

    rc, out, err = common.run_portview(
        NO_NET_ADMIN[1:] + [binary, "--kill", "--dport", "7100"],
        NO_NET_ADMIN[0])
    ck.eq((rc, out), (1, ""), "--kill without CAP_NET_ADMIN: exit 1, "
          "nothing closed on stdout")
    ck.eq(err, "".join(
        "portview: " + line("not closed:", c, comm) +
        ": no permission: needs CAP_NET_ADMIN\n" for c, _ in doomed) +
        "portview: 2 of 2 sockets not closed\n",
        "--kill without CAP_NET_ADMIN: each socket named with the reason")
    ck.ok(all(alive(p) for p in (p1, p2, p3)),
          "without CAP_NET_ADMIN nothing is closed")

    rc, out, err = common.run_portview(["--kill", "--dport", "7100"], binary)
    ck.eq((rc, err), (0, ""), "--kill --dport 7100: exit 0")
    ck.eq(out, want.replace("would close", "closed"),
          "--kill prints each socket it closed")
    ck.eq([peer_reads(a) for _, a in doomed], [errno.ECONNRESET] * 2,
          "the peers of the closed connections read a reset")
    ck.eq([peer_reads(c) for c, _ in doomed], [errno.ECONNABORTED] * 2,
          "the closed sockets' own process reads ECONNABORTED")
    ck.ok(alive(p3), "the connection to 7200 lives on")

    rc, out, err = common.run_portview(["--kill", "--dport", "7100"], binary)
    ck.eq((rc, out, err), (0, "", "portview: no TCP socket matches: "
                           "nothing to close\n"),
          "--kill again: nothing matches, said, exit 0")
    p4 = connect(l1)
    ck.ok(alive(p4), "the listener on 7100 still accepts")

    rc, out, err = common.run_portview(["--kill", "--sport", "7200"], binary)
    ck.eq((rc, err), (0, ""), "--kill --sport 7200: exit 0")
    ck.eq(out, "closed TCP 127.0.0.1:7200 -> 0.0.0.0:0 LISTENING held by "
          "%d/%s\n" % (os.getpid(), comm) +
          "closed TCP 127.0.0.1:7200 -> 127.0.0.1:%d ESTABLISHED held by "
          "%d/%s\n" % (p3[0].getsockname()[1], os.getpid(), comm),
          "--kill --sport 7200 closes the listener and its connection")
    ck.eq(peer_reads(p3[0]), errno.ECONNRESET,
          "the client of 7200 reads a reset")
    try:
        socket.create_connection(("127.0.0.1", 7200), timeout=5).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    ck.ok(refused, "7200 no longer listens")
    closed_rate_in_stream(ck, binary)
    if os.getpid() == 1:  # the other namespace is found by its process
        all_netns(ck, binary, comm)
    else:
        print("note: no PID namespace of its own: --all-netns not checked")
    ck.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""portview --events: a line per socket opened, changed or closed, on
sockets this test opens in a private network namespace.

1. Closes come from the kernel's destroy groups at once: with --interval
   60 (no dump for a minute) a TCP connection reset and a UDP socket
   closed are each reported within seconds, matched by cookie to what
   the first dump knew (its addresses and owner; the kernel's own message
   has lost the foreign port by then).
2. An open, a change of state and a close the test made, each exactly
   once and in order, as text and as NDJSON (each line parsed with
   json.loads), with their addresses, state and owner; the filters apply
   (--sport, and --command, which leaves another program's out).
3. A connection closed actively goes on as TIME_WAIT with the same
   cookie: reported as changes of state, never as closed, while a dump
   still lists it.
4. The event socket overflows (portview stopped while thousands of
   connections are reset, until the kernel says it dropped messages for
   it: not a fixed wait, since a busy machine sends them late): a "lost"
   event, then every connection that went reported closed exactly once,
   at once, from the full dump that follows (the next regular one is ten
   minutes away), and the stream goes on.  Beside it, --count N+1
   through the same overflow: the lost line is no event counted; the N
   closes and one after them, then exit 0.
5. --count N: N events, then exit 0.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) +"
                  r"(opened|changed|closed|lost) +(.*)$")

LOCAL_PORT = re.compile(r'"local": \{"address": "[^"]*", "port": (\d+)')


class Stream(common.EventStream):
    """A running portview --events on the sock_diag source, which these
    tests pin (test_lifecycle.py runs BPF's)."""

    def __init__(self, binary, args):
        super().__init__(binary, args, source="diag")


def ready(streams, w, h, lst, ports):
    """Open probe connections from ports, one every half second, until
    every stream has reported one opened: their first dumps are done (a
    probe made before a stream's first dump is in it, and never opens)."""
    made = []
    for port in ports:
        w.tcp_connect(h, "127.0.0.1", port, lst, "127.0.0.1")
        made.append(port)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            for s in streams:
                s.poll(0.02)
            if all(any("127.0.0.1:%d " % p in l or '"port": %d,' % p in l
                       for p in made for l in s.lines) for s in streams):
                return
    raise RuntimeError("no stream reported a probe opened")


def text_events(lines):
    """(event, the rest of the line) of every event line."""
    out = []
    for l in lines:
        m = LINE.match(l)
        if m:
            out.append((m.group(2), " ".join(m.group(3).split())))
    return out


def has(what):
    return lambda lines: any(what in l for l in lines)


def seen(event, port, state=None):
    """A line, text or NDJSON, reporting event for the socket on local port."""
    def match(l):
        if l.startswith("{"):
            d = json.loads(l)
            return (d["event"] == event and d["local"]["port"] == port and
                    state in (None, d["state"]))
        m = LINE.match(l)
        return (m is not None and m.group(2) == event and
                ("127.0.0.1:%d " % port) in l and (state is None or
                                                   " %s " % state in l))
    return lambda lines: any(match(l) for l in lines)


# ---------------------------------------------------------------------------
# 1. closes at once, from the destroy groups

def closes_at_once(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7100)
    cli, srv = w.tcp_connect(h, "127.0.0.1", 47100, lst, "127.0.0.1")
    u = w.udp_bind(h, "127.0.0.1", 47101)
    s = Stream(binary, ["--interval", "60", "--sport", "47100,47101", "-a"])
    try:
        s.wait(lambda l: len(l) >= 2, "the header, after the first dump")
        c.eq(s.lines[0], "Source: sock_diag (closes at once; opens and changes "
             "from a dump every 60 s)", "the first line names the source")
        c.eq(" ".join(s.lines[1].split()), "Time Event Proto Local Address "
             "Foreign Address State PID/Program name Local Port / Foreign "
             "Port", "the header line, once the first dump is known")
        t0 = time.monotonic()
        h.cmd("reset", cli.sid)
        s.wait(has(" closed "), "the TCP close")
        t1 = time.monotonic() - t0
        w.close(u)
        s.wait(lambda l: len(text_events(l)) >= 2, "the UDP close")
        t2 = time.monotonic() - t0
    finally:
        rc, err = s.stop()
    got = text_events(s.lines)
    pid = h.pid
    c.eq(got, [("closed", "TCP 127.0.0.1:47100 127.0.0.1:7100 ESTABLISHED "
                "%d/pv-events - registered ephemeral / font-service registered" % pid),
               ("closed", "UDP 127.0.0.1:47101 *:* - %d/pv-events - "
                "registered ephemeral / -" % pid)],
         "closes reported with the dump's addresses and owner")
    c.ok(t1 < 10 and t2 < 10, "closes at once (%.2f s and %.2f s) though "
         "the next dump is a minute away" % (t1, t2))
    c.eq((rc, err), (0, ""), "SIGINT: exit 0, stderr empty")
    w.close(srv)
    cli.open = srv.open = u.open = False


# ---------------------------------------------------------------------------
# 2. an open, a change and a close, each once, in order

def open_change_close(c, binary, w, h):
    other = w.holder("pv-other")
    lst = w.tcp_listen(h, "127.0.0.1", 7200)
    sel = ["--interval", "0.3", "--sport", "47200-47202,47210-47229"]
    text = Stream(binary, sel + ["-H", "--plain"])
    js = Stream(binary, sel + ["--json", "--command", "pv-events"])
    streams = (text, js)
    try:
        ready(streams, w, h, lst, range(47210, 47230))
        cli, srv = w.tcp_connect(h, "127.0.0.1", 47200, lst, "127.0.0.1")
        w.tcp_connect(other, "127.0.0.1", 47202, lst, "127.0.0.1")
        for s in streams:
            s.wait(seen("opened", 47200), "the open")
        h.cmd("shutdown", srv.sid)  # the client end: CLOSE_WAIT
        for s in streams:
            s.wait(seen("changed", 47200), "the change")
        h.cmd("reset", cli.sid)
        for s in streams:
            s.wait(seen("closed", 47200), "the close")
        # nothing more may come: the same, five dumps later
        time.sleep(1.5)
        for s in streams:
            s.poll(0.2)
    finally:
        rcs = [s.stop() for s in streams]
    c.eq(rcs, [(0, ""), (0, "")], "SIGINT: both exit 0, stderr empty")

    got = [e for e in text_events(text.lines)
           if not re.search(r":472[12]\d ", e[1])]
    pid, opid = h.pid, other.pid
    c.eq([e for e in got if ":47200 " in e[1]], [
        ("opened", "TCP 127.0.0.1:47200 127.0.0.1:7200 ESTABLISHED "
         "%d/pv-events" % pid),
        ("changed", "TCP 127.0.0.1:47200 127.0.0.1:7200 "
         "ESTABLISHED->CLOSE_WAIT %d/pv-events" % pid),
        ("closed", "TCP 127.0.0.1:47200 127.0.0.1:7200 CLOSE_WAIT "
         "%d/pv-events" % pid)],
        "text: opened, changed, closed, each once, in order")
    c.eq([e for e in got if ":47202 " in e[1]],
         [("opened", "TCP 127.0.0.1:47202 127.0.0.1:7200 ESTABLISHED "
           "%d/pv-other" % opid)], "text: the other program's open too")
    c.ok(all(":47200 " in e[1] or ":47202 " in e[1] for e in got) and
         len(text.lines) == len(text_events(text.lines)),
         "text, -H: nothing else (--sport keeps the server ends out)",
         "\n".join(text.lines))

    docs = []
    for i, line in enumerate(js.lines):
        try:
            docs.append(json.loads(line))
        except ValueError as e:
            c.ok(False, "NDJSON line %d parses" % (i + 1), "%s: %r" % (e, line))
            return
    docs = [d for d in docs if d["local"]["port"] < 47210]
    c.eq([(d["event"], d.get("old_state"), d["state"], d["local"]["port"],
           d["foreign"]["port"], [o["program"] for o in d["owners"]])
          for d in docs],
         [("opened", None, "ESTABLISHED", 47200, 7200, ["pv-events"]),
          ("changed", "ESTABLISHED", "CLOSE_WAIT", 47200, 7200, ["pv-events"]),
          ("closed", None, "CLOSE_WAIT", 47200, 7200, ["pv-events"])],
         "NDJSON: opened, changed, closed, in order; --command leaves "
         "pv-other's out")
    c.ok(len({d["cookie"] for d in docs}) == 1 and
         all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", d["time"])
             for d in docs) and
         [d["time"] for d in docs] == sorted(d["time"] for d in docs),
         "NDJSON: one cookie, times in UTC and in order")


# ---------------------------------------------------------------------------
# 3. TIME_WAIT goes on with the same cookie

def time_wait_is_a_change(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7300)
    cli, srv = w.tcp_connect(h, "127.0.0.1", 47300, lst, "127.0.0.1")
    s = Stream(binary, ["--interval", "0.3", "--json", "--sport",
                        "47300-47330"])
    try:
        ready([s], w, h, lst, range(47310, 47330))
        w.close(cli)  # an orphan in FIN_WAIT_2: a timewait socket already
        s.wait(seen("changed", 47300, "FIN_WAIT_2"), "the change to FIN_WAIT_2")
        w.close(srv)  # its FIN: TIME_WAIT
        s.wait(seen("changed", 47300, "TIME_WAIT"), "the change to TIME_WAIT")
        time.sleep(1)  # nothing more may come: three dumps later
        s.poll(0.2)
    finally:
        rc, err = s.stop()
    docs = [d for d in (json.loads(l) for l in s.lines)
            if d["local"]["port"] == 47300]
    steps = [(d["event"], d.get("old_state"), d["state"]) for d in docs]
    c.ok(steps in ([("changed", "ESTABLISHED", "FIN_WAIT_2"),
                    ("changed", "FIN_WAIT_2", "TIME_WAIT")],
                   [("changed", "ESTABLISHED", "FIN_WAIT_1"),
                    ("changed", "FIN_WAIT_1", "FIN_WAIT_2"),
                    ("changed", "FIN_WAIT_2", "TIME_WAIT")]),
         "an active close: changes to FIN_WAIT_2 and TIME_WAIT, no close",
         repr(steps))
    rc2, out, err2 = common.run_portview(["-an", "--json", "--sport",
                                          "47300"], binary)
    now = json.loads(out)
    c.ok(len(now) == 1 and now[0]["state"] == "TIME_WAIT" and
         {d["cookie"] for d in docs} == {now[0]["cookie"]},
         "a dump lists it in TIME_WAIT, with the cookie the events named")
    c.eq((rc, err), (0, ""), "exit 0, stderr empty")


# ---------------------------------------------------------------------------
# 4. the event socket overflows

def ready_by_close(s, h, probes):
    """Close probes that were there before the stream started, one a
    second, until it reports one closed: its first dump is done (a close
    before then is of a socket it does not know yet).  Returns the probes
    left."""
    probes = list(probes)
    while probes:
        p = probes.pop(0)
        h.cmd("reset", p[0].sid)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            s.poll(0.02)
            if any('"port": %d,' % p[0].lport in l for l in s.lines):
                return probes
    raise RuntimeError("the stream reported no probe closed")


def destroy_listener_drops():
    """For each sock_diag socket of this namespace that listens to a group
    (an --events stream's), whether the kernel dropped a message for it."""
    with open("/proc/net/netlink") as f:
        rows = [line.split() for line in f][1:]
    return [int(r[8]) > 0 for r in rows if r[1] == "4" and int(r[3], 16) != 0]


def overflow(c, binary, w, h):
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    # portview asks for a 1 MiB buffer (the kernel doubles it, up to
    # rmem_max doubled); a freed socket's message takes well under 1 KiB
    n = min(2 * min(rmem_max, 1 << 20) // 600 + 500, 8000)
    big = w.holder("pv-many")
    big.cmd("nofile", 2 * n + 100)
    lst = w.tcp_listen(big, "127.0.0.1", 7400, backlog=n + 10)
    ph = w.holder("pv-probe")
    probes = [w.tcp_connect(ph, "127.0.0.1", 47410 + i, lst, "127.0.0.1")
              for i in range(20)]
    first, last = big.cmd("tcp_connect_auto", "127.0.0.1", 7400, n)
    extra = w.tcp_connect(big, "127.0.0.1", 47409, lst, "127.0.0.1")
    # no dump for ten minutes: whatever is reported comes from the destroy
    # groups, or from the dump that the overflow makes at once
    s = Stream(binary, ["--interval", "600", "--json", "--dport", "7400"])
    # and beside it, --count: pv-many's n closes and extra's, the lost line not one of them
    t = Stream(binary, ["--interval", "600", "--dport", "7400", "--command", "pv-many",
                        "--count", str(n + 1)])
    try:
        probes = ready_by_close(s, ph, probes)
        t.wait(lambda l: len(l) >= 2, "--count's stream: the header, after its first dump")
        for x in (s, t):
            x.p.send_signal(signal.SIGSTOP)
        for sid in range(first, last + 1):
            big.cmd("reset", sid)
        # the kernel sends the closes from a work queue, late on a busy
        # machine: wait until both streams' queues have overflowed
        common.wait_until(lambda: destroy_listener_drops() == [True, True],
                          "both streams' event queues full (the kernel's drops)", 120)
        for x in (s, t):
            x.p.send_signal(signal.SIGCONT)
        # counted apart from the probes', which a busy machine reports late
        s.wait(lambda l: sum(1 for x in l if '"closed"' in x and
                             int(LOCAL_PORT.search(x).group(1)) not in range(47410, 47430)) >= n,
               "%d closes" % n, timeout=120)
        ph.cmd("reset", probes[0][0].sid)
        s.wait(seen("closed", probes[0][0].lport), "a close after the overflow")
    finally:
        rc, err = s.stop()
    try:
        t.wait(lambda l: sum(e[0] == "closed" for e in text_events(l)) >= n,
               "--count's stream: %d closes" % n, timeout=120)
        t.poll(0.2)
        big.cmd("reset", extra[0].sid)
        deadline = time.monotonic() + 30
        while t.p.poll() is None and time.monotonic() < deadline:
            t.poll(0.05)
    finally:
        trc, terr = t.stop()
    overflow_count(c, t.lines, trc, terr, n)
    docs = [json.loads(l) for l in s.lines]
    lost = [i for i, d in enumerate(docs) if d["event"] == "lost"]
    probe_ports = {p[0].lport for p in probes} | set(range(47410, 47430))
    closed = [(d["local"]["port"], d["cookie"]) for d in docs
              if d["event"] == "closed" and d["local"]["port"] not in probe_ports]
    # one, or more where the kernel was still sending when portview caught
    # up (a loaded machine)
    c.ok(len(lost) >= 1 and all(docs[i]["message"].startswith(
        "events were lost") for i in lost), "overflow: a 'lost' event (%d "
        "connections reset while stopped)" % n, repr(docs[:3]))
    c.eq((len(closed), len(set(closed))), (n, n),
         "overflow: every one of the %d connections closed exactly once, at "
         "once (the next dump was ten minutes away)" % n)
    c.ok(docs[-1]["event"] == "closed" and
         docs[-1]["local"]["port"] == probes[0][0].lport and
         lost and len(docs) - 1 > lost[0],
         "overflow: the stream goes on (a close after it)",
         repr([(d["event"], d.get("local", {}).get("port"))
               for d in docs[:5] + docs[-3:]]))
    c.eq((rc, err), (0, ""), "exit 0, stderr empty")


def overflow_count(c, lines, rc, err, n):
    """--count n + 1 through an overflow: the lost line, n closes, then
    the close after them, and the stream ends by itself."""
    ev = text_events(lines)
    kinds = [e[0] for e in ev]
    # A loaded machine may overflow the queue a second time while the
    # kernel's work queue is still sending the closes: lost lines, each
    # followed by a dump, none of them counted.
    lost = kinds.count("lost")
    c.ok(rc == 0 and err == "" and lost >= 1 and
         kinds.count("closed") == n + 1 and len(ev) == n + 1 + lost and
         ev[-1][0] == "closed" and " 127.0.0.1:47409 " in ev[-1][1] and
         len(lines) == len(ev) + 2,
         "--count %d through an overflow: %d closes, the last the one after "
         "the overflow, and the lost line, which is not an event counted; exit 0"
         % (n + 1, n + 1), "rc %s, %d lines, %d lost, %d closed; the last: %s; %s"
         % (rc, len(lines), kinds.count("lost"), kinds.count("closed"),
            lines[-2:], err))


# ---------------------------------------------------------------------------
# 5. --count

def count(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7500)
    keep = w.tcp_connect(h, "127.0.0.1", 47500, lst, "127.0.0.1")
    s = Stream(binary, ["--interval", "0.2", "--count", "2", "--sport",
                        "47500-47501"])
    s.wait(lambda l: len(l) >= 2, "the header")
    h.cmd("reset", keep[0].sid)
    w.tcp_connect(h, "127.0.0.1", 47501, lst, "127.0.0.1")
    rc = s.p.wait(timeout=30)
    rc, err = s.stop()
    ev = text_events(s.lines)
    c.ok(rc == 0 and err == "" and [e[0] for e in ev] == ["closed", "opened"]
         and len(s.lines) == 4, "--count 2: a close and an open, then exit 0",
         "\n".join(s.lines) + err)


def main():
    common.enter_netns()
    binary = common.require_portview()
    c = common.Checker()
    w = common.World()
    h = w.holder("pv-events")
    try:
        closes_at_once(c, binary, w, h)
        open_change_close(c, binary, w, h)
        time_wait_is_a_change(c, binary, w, h)
        count(c, binary, w, h)
        overflow(c, binary, w, h)
    finally:
        w.stop()
    c.finish()


if __name__ == "__main__":
    main()

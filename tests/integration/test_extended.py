#!/usr/bin/env python3
"""-e (User, Inode, Recv-Q, Send-Q, Timer) and JSON's uid, user, inode,
rx_queue and tx_queue, on sockets whose values the test knows.

In a private network namespace the test opens sockets with values it
chose: a connection whose receiver has 100 unread bytes (and one IPv6
connection with 23 unread bytes the other way), a listener with backlog 7
and two connections waiting in its accept queue, an idle connection with
SO_KEEPALIVE, a TIME_WAIT socket, a connection attempt to a neighbour that
never answers (SYN_SENT), connections to that neighbour that sent 100 bytes
it never acknowledges (one with an open window, 30 bytes received from the
neighbour and the retransmission timer running; one with a closed window
and the zero-window probe timer), and sockets of user nobody and of a user
ID with no name.  Inodes are the ones the holders read with fstat(2) on
their own descriptors.  Before portview runs, the test waits until
/proc/net/tcp agrees with each of these values (so that a slow kernel is
not reported as a portview bug).

Then the whole `-ane --plain` table (and with -o and -p) must equal the
test's rendering of these values, except the Timer cell's seconds,
retransmissions and probes, which vary: those must have netstat -o's form
NAME (S.CC/R/P) and are compared as that; the JSON document must have the
same rows with exactly these uid, user, inode, rx_queue and tx_queue
values.

The timer's counters are checked against what netstat -o prints, from
/proc/net/tcp's "retrnsmt" and "timeout" columns read before and after
portview runs (and compared when they did not change meanwhile), on
connections where they are not 0: a retransmitting one (on, R > 0), a
zero-window probe (probe, P > 0), and one whose keepalive probes (idle 1
s, interval 75 s) go unanswered (keepalive, P > 0).  The kernel's
message carries one of the two per timer (the probes for keepalive and
probe), so a bug that puts it in the wrong place shows here; JSON's
"timer" object must carry the same name, retransmits and probes.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import (CLOSE, ESTABLISHED, LISTEN, SYN_SENT,  # noqa: E402
                    TIME_WAIT)

TIMER_CELL = re.compile(r"^(\S+) \((\d+)\.(\d\d)/(\d+)/(\d+)\)$")
TIMER_ANY = "(S.CC/R/P)"


class Ext:
    """What -e must show for one socket."""

    def __init__(self, user, uid, inode, rq, sq, timer):
        self.user, self.uid, self.inode = user, uid, inode
        self.rq, self.sq, self.timer = rq, sq, timer

    def cells(self):
        return [self.user if self.user is not None else str(self.uid),
                str(self.inode), str(self.rq), str(self.sq),
                "%s %s" % (self.timer, TIMER_ANY)]


def build(w, have_veth, nobody, anon):
    """Open the sockets; return {id(sock): Ext}."""
    ext = {}

    def root(s, rq, sq, timer, ino=True):
        ext[id(s)] = Ext("root", 0, w.inode(s) if ino else 0, rq, sq, timer)
        if s.proto == "TCP" and s.state != TIME_WAIT:
            wait(s, 0)
        return s

    def wait(s, uid):
        # Only what the test did determines these values; wait until the
        # kernel has caught up with all of them.  (/proc/net/tcp shows 0,
        # not the backlog, as a listener's tx_queue.)
        e = ext[id(s)]
        common.wait_tcp(s, rxq=e.rq, timer=e.timer, uid=uid, inode=e.inode,
                        **({} if s.state == LISTEN else {"txq": e.sq}))

    srv = w.holder("pv-srv")
    cli = w.holder("pv-cli")

    # A listener with backlog 7; two connections will wait in its accept
    # queue (opened last: accept() takes the oldest queued connection).
    lst = w.tcp_listen(srv, "127.0.0.1", 7000, backlog=7)
    # 100 bytes the server has not read.
    c, s = w.tcp_connect(cli, "127.0.0.1", 40000, lst, "127.0.0.1")
    cli.cmd("send", c.sid, 100)
    root(s, 100, 0, "off")
    root(c, 0, 0, "off")
    # Idle, with SO_KEEPALIVE on the client.
    c, s = w.tcp_connect(cli, "127.0.0.1", 40001, lst, "127.0.0.1")
    cli.cmd("keepalive", c.sid)
    root(c, 0, 0, "keepalive")
    root(s, 0, 0, "off")
    # IPv6, 23 bytes the client has not read.
    lst6 = w.tcp_listen(srv, "::1", 7100, backlog=5)
    c, s = w.tcp_connect(cli, "::1", 41000, lst6, "::1")
    srv.cmd("send", s.sid, 23)
    root(c, 23, 0, "off")
    root(s, 0, 0, "off")
    root(lst6, 0, 5, "off")
    # TIME_WAIT: user ID 0, no inode, no queues.
    c, s = w.tcp_connect(cli, "127.0.0.1", 40002, lst, "127.0.0.1")
    w.time_wait(c, s)
    root(c, 0, 0, "timewait", ino=False)
    for port in (40003, 40004):
        c, s = w.tcp_connect(cli, "127.0.0.1", port, lst, "127.0.0.1",
                             accept=False)
        root(c, 0, 0, "off")
        root(s, 0, 0, "off", ino=False)
    root(lst, 2, 7, "off")
    # UDP: nothing queued, never a timer.
    root(w.udp_bind(srv, "0.0.0.0", 5353), 0, 0, "off")
    root(w.udp_connect(cli, "::1", 6000, "::1", 6001), 0, 0, "off")

    if have_veth:
        # SYN_SENT to the silent neighbour: the SYN waits to be
        # acknowledged (Send-Q 1, the SYN's sequence number).
        root(w.syn_sent(cli, "10.9.9.1", 49000, "10.9.9.2", 81), 0, 1, "on")
        try:
            # Window open: 100 bytes sent, never acknowledged; the peer
            # sends 30 bytes that nobody reads.
            r = w.repaired(cli, "10.9.9.1", 8001, "10.9.9.2", 80,
                           ESTABLISHED, window=65535)
        except RuntimeError as e:
            print("NOTE: TCP_REPAIR unusable, no Send-Q 100 rows: %s" % e)
        else:
            cli.cmd("send", r.sid, 100)
            cli.cmd("inject", "10.9.9.2", 80, "10.9.9.1", 8001, r.rcv_seq,
                    r.snd_seq, 0x18, 30)     # PSH|ACK, 30 bytes
            root(r, 30, 100, "on")
            # Window closed (the peer never announced one): the data waits
            # and the zero-window probe timer runs.
            r = w.repaired(cli, "10.9.9.1", 8002, "10.9.9.2", 80,
                           ESTABLISHED)
            cli.cmd("send", r.sid, 100)
            root(r, 0, 100, "probe")
            common.wait_tcp(r, timeout=10, probes=1)
            # Keepalive probes that nobody answers: the first after 1 s
            # idle, the next 75 s later.
            r = w.repaired(cli, "10.9.9.1", 8003, "10.9.9.2", 80,
                           ESTABLISHED, window=65535)
            cli.cmd("keepalive", r.sid, 1, 75)
            root(r, 0, 0, "keepalive")
            common.wait_tcp(r, timeout=10, probes=1)
            # The same, then 100 bytes that go unacknowledged: the
            # retransmission timer runs with the probe still counted, so
            # both of netstat's counters are above 0 (the kernel's
            # socket list carries only one; tcp_info has both).
            r = w.repaired(cli, "10.9.9.1", 8004, "10.9.9.2", 80,
                           ESTABLISHED, window=65535)
            cli.cmd("keepalive", r.sid, 1, 75)
            common.wait_tcp(r, timeout=10, probes=1)
            cli.cmd("send", r.sid, 100)
            root(r, 0, 100, "on")
            common.wait_tcp(r, timeout=10, probes=1, retr=1)

    # Other users: by name, and by number when the ID has no name.
    if nobody:
        nob = w.holder("pv-nobody", user="nobody", group="nogroup",
                       python=nobody[0], script=nobody[1])
        nl = w.tcp_listen(nob, "127.0.0.1", 9000, backlog=3)
        c, s = w.tcp_connect(cli, "127.0.0.1", 40100, nl, "127.0.0.1",
                             accept=False)
        root(c, 0, 0, "off")
        uid = 65534
        ext[id(nl)] = Ext("nobody", uid, w.inode(nl), 1, 3, "off")
        # A connection in the accept queue belongs to the listener's user.
        ext[id(s)] = Ext("nobody", uid, 0, 0, 0, "off")
        u = w.udp_bind(nob, "127.0.0.1", 5000)
        ext[id(u)] = Ext("nobody", uid, w.inode(u), 0, 0, "off")
        wait(nl, uid)
        wait(s, uid)
    if anon:
        a = w.holder("pv-anon", user=str(anon[2]), group=str(anon[2]),
                     python=anon[0], script=anon[1])
        u = w.udp_connect(a, "127.0.0.1", 5001, "127.0.0.1", 5002)
        ext[id(u)] = Ext(None, anon[2], w.inode(u), 0, 0, "off")
    return ext


def normalize(text):
    """The table with each Timer cell's numbers replaced by (S.CC/R)
    when, and only when, the cell has the documented form."""
    lines = text.split("\n")
    if len(lines) < 4 or "Timer" not in lines[3]:
        return text
    at = lines[3].index("Timer")
    for i in range(4, len(lines)):
        cell = lines[i][at:]
        m = TIMER_CELL.match(cell)
        if m:
            lines[i] = lines[i][:at] + "%s %s" % (m.group(1), TIMER_ANY)
    return "\n".join(lines)


def main():
    common.enter_netns()
    binary = common.require_portview()
    have_veth = common.setup_veth()
    if not have_veth:
        print("NOTE: veth unavailable: no SYN_SENT, Send-Q 100 or probe "
              "rows")
    tmp, (holder,) = common.public_copy(common.HOLDER)
    nobody = anon = None
    py = common.python_for("nobody", "nogroup")
    if py:
        nobody = (py, holder)
    else:
        print("NOTE: nobody cannot run python3: no rows of user nobody")
    uid = common.unnamed_uid()
    py = common.python_for(str(uid), str(uid))
    if py:
        anon = (py, holder, uid)
    else:
        print("NOTE: user ID %d cannot run python3: no unnamed-user row"
              % uid)
    w = common.World()
    try:
        ext = build(w, have_veth, nobody, anon)
        w.check_kernel()
        check(w, binary, ext)
    finally:
        w.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def check(w, binary, ext):
    ck = common.Checker()
    socks = w.socks
    ck.eq(sorted(id(s) for s in socks), sorted(ext),
          "the test knows the -e values of every socket it opened")
    timers = {ext[id(s)].timer for s in socks}
    print("timers in the model: %s" % sorted(timers))

    def cells(s):
        return ext[id(s)].cells()

    for argv, sel, owner, program in (
            (["-ae"], {"all": True}, False, False),
            (["-aeo"], {"all": True}, True, False),
            (["-aep"], {"all": True}, False, True),
            (["-e"], {}, False, False),
            (["-le"], {"listening": True}, False, False),
            (["-e", "--state", "time-wait"], {"states": {TIME_WAIT}}, False,
             False)):
        rows = common.select(socks, **sel)
        want = common.render_table(rows, w.comms, owner, program,
                                   extended=cells)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s --plain -n" % " ".join(argv)
        ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        ck.ok(len(rows) > 0, name + ": the model selects rows (%d)"
              % len(rows))
        ck.eq(normalize(out), want, name + ": stdout, Timer numbers aside "
              "(%d rows)" % len(rows))

    # A few rows spelt out, so that the expectations above cannot drift.
    rc, out, err = common.run_portview(["-ae"], binary, plain=True)
    table = normalize(out)
    for needle in ("100    0      off " + TIMER_ANY,
                   "2      7      off " + TIMER_ANY,
                   "0      0      keepalive " + TIMER_ANY,
                   "0      0      timewait " + TIMER_ANY):
        ck.ok(needle in table, "-ae: a row ends with %r" % needle, out)
    users = {ext[id(s)].user or str(ext[id(s)].uid) for s in socks}
    print("users in the model: %s" % sorted(users))
    for user in users:
        ck.ok(re.search(r"\s%s\s+\d+\s+\d+\s+\d+\s+\w+ \(" % user, out)
              is not None, "-ae: a row of user %s" % user, out)
    if SYN_SENT in {s.state for s in socks}:
        ck.ok("0      1      on " + TIMER_ANY in table,
              "-ae: the SYN_SENT row: Send-Q 1, timer on", out)
    if "probe" in timers:
        ck.ok("30     100    on " + TIMER_ANY in table and
              "0      100    probe " + TIMER_ANY in table,
              "-ae: 100 unacknowledged bytes: Send-Q 100, timers on and "
              "probe", out)
    # Timer seconds that the kernel fixes: TIME_WAIT lasts 60 s, and the
    # keepalive timer starts at net.ipv4.tcp_keepalive_time (by default
    # 7200 s).
    with open("/proc/sys/net/ipv4/tcp_keepalive_time") as f:
        keepalive = int(f.read())
    for name, top in (("timewait", 60), ("keepalive", keepalive)):
        m = re.search(r"\b%s \((\d+)\.(\d\d)/0/0\)" % name, out)
        ck.ok(m is not None and
              top - 30 < int(m.group(1)) + int(m.group(2)) / 100 <= top,
              "-ae: %s timer: seconds left in (%d, %d], 0 retransmits, 0 "
              "probes" % (name, top - 30, top), m.group(0) if m else out)
    counters(ck, w, binary, timers)

    # JSON: every socket once, in the default order, with exactly the
    # values the test knows.
    rc, out, err = common.run_portview(["-a", "--json"], binary)
    ck.eq((rc, err), (0, ""), "--json: exit 0, stderr empty")
    doc = json.loads(out)
    fields = ("uid", "user", "inode", "rx_queue", "tx_queue")
    got = [((o["proto"].upper(), o["local"]["address"], o["local"]["port"],
             o["foreign"]["address"], o["foreign"]["port"]),
            {f: o[f] for f in fields}) for o in doc]

    want = []
    for s in sorted(socks, key=common.Sock.sort_key):
        e = ext[id(s)]
        unconnected = s.state in (LISTEN, CLOSE)
        want.append(((s.proto, common.json_address(s.laddr), s.lport,
                      None if unconnected else common.json_address(s.raddr),
                      None if unconnected else s.rport),
                     dict(zip(fields, (e.uid, e.user, e.inode or None, e.rq,
                                       e.sq)))))
    ck.ok(len(want) > 0, "--json: the model has rows (%d)" % len(want))
    ck.eq([g[0] for g in got], [x[0] for x in want],
          "--json: one object per socket, in the default order")
    for g, x in zip(got, want):
        proto, la, lp, ra, rp = x[0]
        ck.eq(g[1], x[1], "--json %s %s:%d -> %s: %s" % (
            proto, la, lp, "%s:%d" % (ra, rp) if ra else "-",
            ", ".join(fields)))
    ck.finish()


def netstat_timers(w):
    """{(local, foreign) table text: (timer, retransmits, probes)} as
    netstat -o prints them, from /proc/net/tcp."""
    k = common.kernel_tcp()
    out = {}
    for s in w.socks:
        if s.proto != "TCP":
            continue
        info = k.get((s.family, s.laddr.packed, s.lport, s.raddr.packed,
                      s.rport))
        if info:
            out[(s.local_text(), s.foreign_text())] = (
                info["timer"], info["retr"], info["probes"])
    return out


def counters(ck, w, binary, timers):
    """The Timer cell's counters and JSON's timer object, against what
    netstat -o shows for the same sockets at the same time."""
    for attempt in range(5):
        before = netstat_timers(w)
        rc, out, err = common.run_portview(["-ae"], binary, plain=True)
        rc2, doc, err2 = common.run_portview(["-a", "--json"], binary)
        if netstat_timers(w) == before:
            break
    else:
        ck.ok(False, "/proc/net/tcp's timers held still for one run")
        return
    got = {}
    for line in out.splitlines()[4:]:
        f = line.split()
        if f[0] != "TCP":
            continue
        m = TIMER_CELL.match(" ".join(f[-2:]))
        got[(f[1], f[2])] = (m.group(1), int(m.group(4)), int(m.group(5))) \
            if m else " ".join(f[-2:])
    ck.eq(got, before, "-ae: every TCP row's timer, retransmits and probes "
          "are netstat -o's (%d rows)" % len(before))
    nonzero = sorted({t for t, r, p in before.values() if r or p})
    print("timers with counters above 0: %s" % nonzero)
    if "probe" in timers:
        ck.ok(any(t == "on" and r and p for t, r, p in before.values()),
              "the model has a retransmitting connection with a probe "
              "counted too", repr(before))
    if "probe" in timers:
        ck.eq(nonzero, ["keepalive", "on", "probe"],
              "the model has keepalive, on and probe timers with counters "
              "above 0")
        m = re.search(r"\bkeepalive \((\d+)\.\d\d/0/1\)", out)
        ck.ok(m and 0 < int(m.group(1)) < 75,
              "-ae: the unanswered keepalive probe: keepalive (S.CC/0/1), "
              "the next probe within 75 s", out)
    byrow = {}
    for o in json.loads(doc):
        if o["proto"] != "tcp":
            continue
        t = o["timer"]
        byrow[(o["local"]["address"], o["local"]["port"],
               o["foreign"]["address"], o["foreign"]["port"])] = (
            t["name"], t["retransmits"], t["probes"])
    want = {}
    for s in w.socks:
        key = (s.local_text(), s.foreign_text())
        if key in before:
            bare = s.state == LISTEN
            want[(common.json_address(s.laddr), s.lport,
                  None if bare else common.json_address(s.raddr),
                  None if bare else s.rport)] = before[key]
    ck.eq(byrow, want, "--json: every TCP object's timer name, retransmits "
          "and probes are netstat -o's")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Exact table output of portview for a known set of sockets.

Runs in a private network namespace (and PID namespace when available, so
that the PIDs of a shared socket can be chosen: 99,200,1000 checks numeric
ordering).  Every socket in the namespace is created here by holder
processes with fixed addresses and ports, so the full stdout of each
portview invocation is known exactly.
"""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import (ALL_STATES, CLOSE, CLOSE_WAIT, CLOSING, ESTABLISHED,  # noqa: E402
                    FIN_WAIT1, FIN_WAIT2, LAST_ACK, LISTEN, SYN_RECV,
                    SYN_SENT, TIME_WAIT)

CONNECTED = ALL_STATES - {LISTEN, CLOSE}


def build_world(have_veth):
    w = common.World()
    w.have_repair = have_veth
    a = w.holder("pv-alpha")
    b = w.holder("pv-beta")

    # Listeners.  Ports/addresses chosen so that numeric and textual
    # ordering differ (9000 < 10000, 127.0.0.2 < 127.0.0.10, fd00::2 <
    # fd00::10).
    l9000 = w.tcp_listen(a, "0.0.0.0", 9000)
    l10000 = w.tcp_listen(a, "127.0.0.1", 10000)
    dual = w.tcp_listen(a, "::", 9100, v6only=0)
    l6 = w.tcp_listen(a, "::1", 9200)
    fd2 = w.tcp_listen(a, "fd00::2", 9300)
    w.tcp_listen(a, "fd00::10", 9300)
    # inet_ntop form: of two equally long runs of zero groups, the first is
    # compressed.
    w.tcp_listen(a, "2001:db8:0:0:1:0:0:1", 9400)

    # Unconnected UDP.
    w.udp_bind(a, "0.0.0.0", 5353)
    w.udp_bind(a, "::", 5353)
    w.udp_bind(a, "127.0.0.10", 53)
    w.udp_bind(a, "127.0.0.2", 53)
    # Connected UDP.
    w.udp_connect(b, "127.0.0.1", 6000, "127.0.0.2", 6001)
    w.udp_connect(b, "::1", 6000, "::1", 6001)
    # v4-mapped UDP (kept by -4).
    w.udp_bind(a, "::ffff:127.0.0.1", 5400, v6only=0)
    w.udp_connect(b, "::ffff:127.0.0.1", 6100, "::ffff:127.0.0.2", 6101)

    # TCP connections, client in b, accepted in a.
    w.tcp_connect(b, "127.0.0.1", 9998, l9000, "127.0.0.1")
    w.tcp_connect(b, "127.0.0.1", 10001, l9000, "127.0.0.1")
    w.tcp_connect(b, "127.0.0.2", 9999, l10000, "127.0.0.1")
    # Never accepted: ESTABLISHED in the accept queue, owner unknown.
    w.tcp_connect(b, "127.0.0.1", 48000, l10000, "127.0.0.1", accept=False)
    # IPv4 client to the dual-stack listener: v4-mapped server socket.
    w.tcp_connect(b, "127.0.0.1", 41000, dual, "127.0.0.1")
    # AF_INET6 client to a v4-mapped address: v4-mapped client socket.
    w.tcp_connect(b, "::ffff:127.0.0.1", 42000, l9000, "::ffff:127.0.0.1")
    w.tcp_connect(b, "::1", 43000, l6, "::1")
    w.tcp_connect(b, "fd00::10", 44000, fd2, "fd00::2")
    # TIME_WAIT (active close by the client), IPv4 and IPv6.
    w.time_wait(*w.tcp_connect(b, "127.0.0.1", 46000, l9000, "127.0.0.1"))
    w.time_wait(*w.tcp_connect(b, "::1", 46001, l6, "::1"))
    # FIN_WAIT_2 (b) / CLOSE_WAIT (a).
    w.half_close(*w.tcp_connect(b, "127.0.0.1", 47000, l9000, "127.0.0.1"))

    if have_veth:
        w.tcp_listen(a, "fe80::1%pv0", 22)
        l8080 = w.tcp_listen(a, "10.9.9.1", 8080)
        w.syn_sent(b, "10.9.9.1", 49000, "10.9.9.2", 80)
        w.syn_recv(l8080, "10.9.9.2", 50000)
        try:
            w.repaired(b, "10.9.9.1", 8001, "10.9.9.2", 80, FIN_WAIT1)
        except RuntimeError as e:
            print("NOTE: TCP_REPAIR unusable, no FIN_WAIT_1/CLOSING/LAST_ACK "
                  "rows: %s" % e)
            w.have_repair = False
        else:
            w.repaired(b, "10.9.9.1", 8002, "10.9.9.2", 80, CLOSING)
            w.repaired(b, "10.9.9.1", 8003, "10.9.9.2", 80, LAST_ACK)
            w.repaired(b, "10.9.9.1", 8005, "10.9.9.2", 80, "orphan")
        w.udp_bind(a, "fe80::1%pv0", 5353)
        # Scope of an interface that no longer exists: shown as a number.
        common.sh(["ip", "link", "add", "pvx0", "type", "veth", "peer",
                   "name", "pvx1"])
        common.sh(["ip", "link", "set", "pvx0", "up"])
        common.sh(["ip", "-6", "addr", "add", "fe80::2/64", "dev", "pvx0",
                   "nodad"])
        index = socket.if_nametoindex("pvx0")
        gone = [w.tcp_listen(a, "fe80::2%pvx0", 23),
                w.udp_bind(a, "fe80::2%pvx0", 24)]
        common.sh(["ip", "link", "del", "pvx0"])
        for g in gone:
            g.laddr.scope = str(index)

    # Sockets shared by three processes.  In our own PID namespace the PIDs
    # are 200 (holder), 99 and 1000 (children), so the cell must read
    # 99,200,1000: neither creation order nor string order.
    s = w.holder("pv-shared", pid=200)
    w.tcp_listen(s, "127.0.0.1", 7000)
    w.udp_bind(s, "::1", 7001)
    w.tcp_connect(s, "127.0.0.1", 7100, l9000, "127.0.0.1")
    w.fork(s, "pv-kid", pid=99)
    w.fork(s, "pv-kid2", pid=1000)
    # Opened after the forks: only the holder owns it.
    w.udp_bind(s, "127.0.0.1", 7002)

    # comm with control bytes (\x01, DEL), invalid UTF-8 (a stray \xff, an
    # encoded surrogate, a truncated sequence) and valid UTF-8 (e-acute).
    x = w.holder(b"pv\x01w\xff\xc3\xa9\x7f\xed\xa0\x80\xc3")
    w.udp_connect(x, "127.0.0.1", 5000, "127.0.0.1", 5001)
    return w


def main():
    common.enter_netns()
    binary = common.require_portview()
    # (127.0.0.0/8 is local already.)
    common.add_lo_addr("fd00::2/128")
    common.add_lo_addr("fd00::10/128")
    common.add_lo_addr("2001:db8::1:0:0:1/128")
    have_veth = common.setup_veth()
    if not have_veth:
        print("NOTE: veth unavailable: no SYN_SENT/SYN_RECEIVED/FIN_WAIT_1/"
              "CLOSING/LAST_ACK or link-local rows")
    w = build_world(have_veth)
    try:
        w.check_kernel()
        pids = {h.pid for h in w.holders}
        print("holders: %s; own PID namespace: %s" % (
            sorted(pids | {c for h in w.holders for c in h.children}),
            common.in_own_pidns()))
        run_cases(w, binary, have_veth)
    finally:
        w.stop()


def run_cases(w, binary, have_veth):
    c = common.Checker()
    socks = w.socks
    S = common.select

    # (argv, selection kwargs, owner column, program column)
    cases = [
        ([], {}, False, False),
        (["-n"], {}, False, False),
        (["-no"], {}, True, False),
        (["-ano"], {"all": True}, True, False),
        (["-a", "-n", "-o"], {"all": True}, True, False),
        (["--all", "--numeric", "--owner"], {"all": True}, True, False),
        (["-an"], {"all": True}, False, False),
        (["-o"], {}, True, False),
        (["-p"], {}, False, True),
        (["-ap"], {"all": True}, False, True),
        (["-aop"], {"all": True}, True, True),
        (["-anpo"], {"all": True}, True, True),
        (["-l"], {"listening": True}, False, False),
        # The spec does not say what -a plus -l means; -a (a superset of
        # -l) winning matches netstat and the man page ("also list").
        (["-al"], {"all": True}, False, False),
        (["-l", "-a", "-o"], {"all": True}, True, False),
        (["-lno"], {"listening": True}, True, False),
        (["--listening", "--program"], {"listening": True}, False, True),
        (["-t"], {"tcp": True}, False, False),
        (["-u"], {"udp": True}, False, False),
        (["-4"], {"v4": True}, False, False),
        (["-6"], {"v6": True}, False, False),
        (["-at"], {"all": True, "tcp": True}, False, False),
        (["-anou"], {"all": True, "udp": True}, True, False),
        (["-a4o"], {"all": True, "v4": True}, True, False),
        (["-a", "--ipv6", "-o"], {"all": True, "v6": True}, True, False),
        (["-atu46"], {"all": True}, False, False),
        (["-lt"], {"listening": True, "tcp": True}, False, False),
        (["-lu"], {"listening": True, "udp": True}, False, False),
        (["-l4"], {"listening": True, "v4": True}, False, False),
        (["-l6"], {"listening": True, "v6": True}, False, False),
        (["-tulpn"], {"listening": True}, False, True),
        (["--tcp", "--ipv4", "-o"], {"tcp": True, "v4": True}, True, False),
        (["--udp", "--ipv6"], {"udp": True, "v6": True}, False, False),
        (["--state", "ESTABLISHED"], {"states": {ESTABLISHED}}, False, False),
        (["--state=established", "-o"], {"states": {ESTABLISHED}}, True,
         False),
        (["--state", "estab", "-u"], {"states": {ESTABLISHED}, "udp": True},
         False, False),
        (["--state", "listen"], {"states": {LISTEN}}, False, False),
        (["--state", "LISTENING", "-o"], {"states": {LISTEN}}, True, False),
        (["--state", "time-wait"], {"states": {TIME_WAIT}}, False, False),
        (["--state", "Time_Wait", "-o"], {"states": {TIME_WAIT}}, True,
         False),
        (["--state", "unconn"], {"states": {CLOSE}}, False, False),
        (["--state", "close", "-o"], {"states": {CLOSE}}, True, False),
        (["--state", "closed"], {"states": {CLOSE}}, False, False),
        (["--state", "estab,listen"], {"states": {ESTABLISHED, LISTEN}},
         False, False),
        (["--state", "estab", "--state", "listen"],
         {"states": {ESTABLISHED, LISTEN}}, False, False),
        (["--state", "listen,unconn", "-o"], {"states": {LISTEN, CLOSE}},
         True, False),
        (["--state", "connected"], {"states": CONNECTED}, False, False),
        (["--state", "synchronized"], {"states": CONNECTED - {SYN_SENT}},
         False, False),
        (["--state", "bucket"], {"states": {SYN_RECV, TIME_WAIT}}, False,
         False),
        (["--state", "big"], {"states": ALL_STATES - {SYN_RECV, TIME_WAIT}},
         False, False),
        (["--state", "all"], {"states": ALL_STATES}, False, False),
        (["--state", "ALL", "-o"], {"states": ALL_STATES}, True, False),
        (["--state", "syn_sent"], {"states": {SYN_SENT}}, False, False),
        (["--state", "syn-recv"], {"states": {SYN_RECV}}, False, False),
        (["--state", "SYN_RECEIVED", "-o"], {"states": {SYN_RECV}}, True,
         False),
        (["--state", "fin_wait1"], {"states": {FIN_WAIT1}}, False, False),
        (["--state", "fin-wait-1", "-o"], {"states": {FIN_WAIT1}}, True,
         False),
        (["--state", "fin_wait2"], {"states": {FIN_WAIT2}}, False, False),
        (["--state", "FIN_WAIT_2", "-o"], {"states": {FIN_WAIT2}}, True,
         False),
        (["--state", "close_wait", "-o"], {"states": {CLOSE_WAIT}}, True,
         False),
        (["--state", "last-ack"], {"states": {LAST_ACK}}, False, False),
        (["--state", "closing", "-o"], {"states": {CLOSING}}, True, False),
        # --state replaces the -a / -l selection.
        (["-a", "--state", "time_wait"], {"states": {TIME_WAIT}}, False,
         False),
        (["-l", "--state", "estab"], {"states": {ESTABLISHED}}, False,
         False),
        (["--state", "listen", "-6", "-p"], {"states": {LISTEN}, "v6": True},
         False, True),
        (["--state", "bucket", "-4", "-o"],
         {"states": {SYN_RECV, TIME_WAIT}, "v4": True}, True, False),
        # No rows at all: header only.
        (["--state", "listen", "-u"], {"states": {LISTEN}, "udp": True},
         False, False),
        (["--state", "time-wait", "-u", "-o", "-p"],
         {"states": {TIME_WAIT}, "udp": True}, True, True),
    ]
    # -W lists every owner of a shared socket; without it, the lowest PID
    # and how many more ("99 (+2)").
    cases += [(["-a", "-o", "-p", "-W"], {"all": True}, True, True),
              (["-ao", "--wide"], {"all": True}, True, False)]
    for argv, sel, owner, program in cases:
        rows = S(socks, **sel)
        wide = "-W" in argv or "--wide" in argv
        want = common.render_table(rows, w.comms, owner, program, wide=wide)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s" % " ".join(argv)
        c.eq(rc, 0, name + ": exit status")
        c.eq(err, "", name + ": stderr empty")
        c.eq(out, want, name + ": stdout (%d rows)" % len(rows))

    # Each long option is its short one: the same bytes, the same status.
    for short, long_ in (("-a", "--all"), ("-l", "--listening"),
                         ("-t", "--tcp"), ("-u", "--udp"),
                         ("-4", "--ipv4"), ("-6", "--ipv6"),
                         ("-o", "--owner"), ("-p", "--program"),
                         ("-e", "--extended"), ("-H", "--no-header"),
                         ("-W", "--wide"), ("-n", "--numeric")):
        extra = [] if short in ("-a", "-l") else ["-a"]
        got_s = common.run_portview(extra + [short], binary, plain=True)
        got_l = common.run_portview(extra + [long_], binary, plain=True)
        if short == "-e":
            # timers count down between two runs, a SYN to the silent
            # peer is sent again and a zero-window probe goes out (a slow
            # run sees one more): compare up to them
            def cut(r):
                return (r[0], re.sub(r"\(\d+\.\d\d/\d+/\d+\)", "(T/R/P)",
                                     r[1]), r[2])
            got_s, got_l = cut(got_s), cut(got_l)
        c.eq(got_l, got_s, "portview %s is portview %s" % (long_, short))
        c.ok(got_s[0] == 0 and len(got_s[1]) > 2,
             "portview %s lists sockets" % short)

    # A few sanity checks on the expectations themselves, so that a
    # mistake in the model cannot silently weaken the tests above.
    all_rows = common.render_table(S(socks, all=True), w.comms, True, True,
                                   wide=True)
    condensed = common.render_table(S(socks, all=True), w.comms, True, True)
    for needle in ("[::ffff:127.0.0.1]:9100", "[::ffff:127.0.0.1]:42000",
                   "[::]:5353", "*:*", "TIME_WAIT", "FIN_WAIT_2",
                   "CLOSE_WAIT", "/pv-kid2",
                   "pv\\x01w\\xff\u00e9\\x7f\\xed\\xa0\\x80\\xc3",
                   "[::ffff:127.0.0.1]:5400"):
        c.ok(needle in all_rows, "model contains %r" % needle)
    if common.in_own_pidns():
        c.ok("99,200,1000 " in all_rows, "model has PID cell 99,200,1000")
        c.ok("99 (+2) " in condensed and "99/pv-kid (+2)" in condensed,
             "condensed model has PID cell '99 (+2)'")
    needles = ["[2001:db8::1:0:0:1]:9400"]
    if have_veth:
        needles += ["SYN_SENT", "SYN_RECEIVED", "[fe80::1%pv0]:22",
                    "[fe80::2%", "[fe80::1%pv0]:5353"]
    if w.have_repair:
        needles += ["FIN_WAIT_1", "CLOSING", "LAST_ACK"]
    for needle in needles:
        c.ok(needle in all_rows, "model contains %r" % needle)
    c.finish()


if __name__ == "__main__":
    main()

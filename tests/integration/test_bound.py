#!/usr/bin/env python3
"""TCP sockets that are bound but neither listen nor connect: state BOUND.

In a private network namespace (ephemeral range 50000-50999), a holder
named pv-binder binds TCP sockets and does nothing more with them:
127.0.0.1:7200, 127.0.0.1:0 (the kernel picks a port in the range) and
[::]:7201 (IPv6 only).  It also holds a listener and a connection, for
contrast.  First the test shows that the bound port is taken: a listen()
on 127.0.0.1:7200 fails with EADDRINUSE.  Then, as exact tables:

  -an, --state all       every socket, the bound ones as BOUND
  -n (default), -ln      no bound socket (they are not connections, and
                         do not listen)
  --state bound          exactly the three bound sockets
  -ano --port 7200       the bound socket, owned by pv-binder
  --lookup 7200          the registry's answer, then the bound socket's
                         row with pv-binder's PID and name
  --ranges               TCP In Use counts the kernel-picked port
  --json -a              the bound sockets as objects with "state":
                         "BOUND", a null foreign end and their owners

Then how the bind hash's walk is made sure of (PORTVIEW_DEBUG): 400
bound sockets fill several datagrams, so the walk is cut between bound
sockets and walked again in slices ("bind hash sliced"), 20 sockets
bound to one port (SO_REUSEADDR) may pause the kernel's walk where no
slice can split it, so it is walked twice more ("bind hash
unverified"); in every case every bound socket is listed exactly once.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import errno
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import BOUND  # noqa: E402

RANGE = (50000, 50999)


def run(binary, args, env=None):
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        return common.run_portview(args, binary)
    finally:
        os.environ.clear()
        os.environ.update(old)


def main():
    common.enter_netns()
    binary = common.require_portview()
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("%d %d\n" % RANGE)
    w = common.World()
    try:
        b = w.holder("pv-binder")
        o = w.holder("pv-other")
        b7200 = w.tcp_bind(b, "127.0.0.1", 7200)
        picked = w.tcp_bind(b, "127.0.0.1", 0)
        w.tcp_bind(b, "::", 7201)
        lst = w.tcp_listen(o, "127.0.0.1", 7300)
        w.tcp_connect(o, "127.0.0.1", 40000, lst, "127.0.0.1")
        w.check_kernel()
        check(w, binary, b, b7200, picked)
    finally:
        w.stop()


def check(w, binary, b, b7200, picked):
    ck = common.Checker()
    ck.ok(RANGE[0] <= picked.lport <= RANGE[1],
          "bind() to port 0 picked %d, in the ephemeral range"
          % picked.lport)

    # The port is held: nobody else can listen on it.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", 7200))
        s.listen(1)
        got = 0
    except OSError as e:
        got = e.errno
    finally:
        s.close()
    ck.eq(got, errno.EADDRINUSE, "listen() on 127.0.0.1:7200 fails with "
          "EADDRINUSE: the bound socket holds the port")

    bound = [x for x in w.socks if x.state == BOUND]
    for argv, sel, owner, program in (
            (["-an"], {"all": True}, False, False),
            (["-ano"], {"all": True}, True, False),
            (["-anp"], {"all": True}, False, True),
            (["--state", "all", "-o"], {"all": True}, True, False),
            (["-n"], {}, False, False),
            (["-ln"], {"listening": True}, False, False),
            (["--state", "bound", "-p"], {"states": {BOUND}}, False, True),
            (["--state", "bound-inactive"], {"states": {BOUND}}, False,
             False),
            (["-at"], {"all": True, "tcp": True}, False, False),
            (["-a6"], {"all": True, "v6": True}, False, False)):
        rows = common.select(w.socks, **sel)
        want = common.render_table(rows, w.comms, owner, program)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s" % " ".join(argv)
        ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        ck.eq(out, want, name + ": exact table (%d rows, %d bound)" % (
            len(rows), len([r for r in rows if r.state == BOUND])))
    ck.eq(len(common.select(w.socks, states={BOUND})), 3,
          "the model has the three bound sockets")

    # A row spelt out, so that the model cannot drift.
    rc, out, err = common.run_portview(["-ano", "--port", "7200"], binary,
                                       plain=True)
    ck.eq(out.splitlines()[4:], [
        "  TCP    127.0.0.1:7200         0.0.0.0:0              BOUND"
        "           %d" % b.pid],
        "-ano --port 7200: the bound socket, owned by pv-binder")

    # Who holds port 7200?
    rc, out, err = common.run_portview(["-n", "--plain", "--lookup",
                                        "7200"], binary)
    ck.eq((rc, err), (0, ""), "--lookup 7200: exit 0, stderr empty")
    table = out[out.index("\nActive Connections"):]
    ck.eq(table, common.render_table([b7200], w.comms, program=True),
          "--lookup 7200: the bound socket, with pv-binder's PID and name")

    # --ranges: the kernel-picked port is in use.
    rc, out, err = common.run_portview(["--ranges", "--json"], binary)
    rows = json.loads(out)
    tcp_eph = [r for r in rows if r["proto"] == "tcp" and
               r["range"] == "ephemeral"][0]
    in_range = {x.lport for x in w.socks if x.proto == "TCP" and
                RANGE[0] <= x.lport <= RANGE[1]}
    ck.eq(tcp_eph["in_use"], len(in_range),
          "--ranges: TCP ephemeral In Use %d counts the bound port %d"
          % (len(in_range), picked.lport))
    ck.ok(picked.lport in in_range and len(in_range) == 1,
          "the bound port is the only TCP port in use in the range")

    # JSON.
    model = common.JsonModel(w)
    rc, out, err = common.run_portview(["--json", "--state", "bound"],
                                       binary)
    ck.eq((rc, err), (0, ""), "--json --state bound: exit 0")
    doc = json.loads(out)
    want = [model.json(x) for x in sorted(bound, key=common.Sock.sort_key)]
    got = [{k: v for k, v in o.items() if k in want[0]} for o in doc]
    for o in got:
        for side in ("local", "foreign"):
            o[side].pop("service", None)
    ck.eq(got, want, "--json --state bound: the three objects, state "
          "BOUND, no foreign end, owned by pv-binder")

    consistency(ck, w, binary, b)
    ck.finish()


def debug_line(err):
    tcp = [line for line in err.splitlines() if "debug: TCP dump" in line]
    return tcp[0] if len(tcp) == 1 else "\n".join(tcp)


def consistency(ck, w, binary, b):
    """The bind hash's walk, made sure of."""
    many = [w.tcp_bind(b, "127.0.0.1", 20000 + i) for i in range(400)]
    bound = [x for x in w.socks if x.state == BOUND]
    want = common.render_table(bound)
    cases = (
        ({}, "sliced", "400 bound sockets: the walk cut between them is "
         "walked again in slices"),
        ({"PORTVIEW_DUMP": "once"}, "unchecked", "PORTVIEW_DUMP=once: not "
         "checked"),
        ({"PORTVIEW_DUMP": "twice"}, "twice", "PORTVIEW_DUMP=twice: walked "
         "twice"))
    for env, how, what in cases:
        env = dict(env, PORTVIEW_DEBUG="1")
        rc, out, err = run(binary, ["--state", "bound", "--plain", "-n"],
                           env)
        line = debug_line(err)
        m = re.search(r"in (\d+) datagrams.*walks again (\d+),.*checked "
                      r"(\d+) \((\d+) gone\).*bind hash (\w+)$", line)
        ck.ok(m is not None and int(m.group(1)) > 2 and m.group(5) == how,
              "%s (bind hash %s)" % (what, how), line)
        # No lookup can find a bound socket: none is made, none "gone".
        ck.ok(m is not None and m.group(3) == m.group(4) == "0" and
              (how != "sliced" or m.group(2) == "0"),
              "%s: no bound socket looked up, no whole walk again" % what,
              line)
        ck.eq((rc, out), (0, want), "%s: all %d bound sockets, once each"
              % (what, len(bound)))
    # Then 20 on one port (and the three first): no boundary, but a
    # bucket the kernel's walk pauses in, which slices cannot split.
    for x in many:
        w.close(x)
        w.socks.remove(x)
    same = [w.tcp_bind(b, "127.0.0.2", 9999, reuseaddr=1)
            for i in range(20)]
    bound = [x for x in w.socks if x.state == BOUND]
    rc, out, err = run(binary, ["--state", "bound", "--plain", "-n"],
                       {"PORTVIEW_DEBUG": "1"})
    line = debug_line(err)
    ck.ok(re.search(r"walks again 2, slices 0 .*bind hash unverified$",
                    line),
          "20 sockets bound to 127.0.0.2:9999, one datagram: walked twice "
          "more (bind hash unverified)", line)
    ck.eq((rc, out), (0, common.render_table(bound)),
          "... and listed once each (%d rows)" % len(bound))
    ck.eq(len(same), 20, "20 sockets share 127.0.0.2:9999")


if __name__ == "__main__":
    main()

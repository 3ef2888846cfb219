#!/usr/bin/env python3
"""A listing on several threads: the same exact table as on one.

In a private network namespace, holders open 1,621 sockets: 1,001 TCP
listeners, 500 unconnected UDP sockets, 60 loopback connections (both
ends), the listeners' holder forked (every socket it holds shared: a PID
list condensed to "PID (+1)").  The table's rows make 13 chunks of 128
for the threads that format it, with the widest cells (an IPv6 address,
the shared PIDs) in late chunks.

  PORTVIEW_TABLE_THREADS=1, 2, 4    -an, -ano, -anp, -anpW: the model's
                                    exact table each time
  PORTVIEW_DUMP_THREADS=1, 2, 4     the same, the dumps side by side
  both at 2                         -anoi (tcp_info asked), the same rows
                                    as one thread gives
  bad values (0, 5, x, -1)          exit 2 and one line naming the
                                    variable, its value and what is valid

Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def run(binary, args, env):
    old = dict(os.environ)
    os.environ.update(env)
    try:
        return common.run_portview(args, binary, plain=True)
    finally:
        os.environ.clear()
        os.environ.update(old)


def build(w):
    a = w.holder("pv-threads-a")
    b = w.holder("pv-threads-b")
    listeners = []
    for i in range(1000):
        # ports across the classes, addresses so that rows interleave
        listeners.append(w.tcp_listen(a, "127.0.%d.%d" % (i % 3, i % 200 + 1),
                                      1000 + i * 97 % 60000))
    w.udp_many(b, "127.0.0.5", 20000, 500)
    for i in range(60):
        w.tcp_connect(b, "127.0.0.9", 40000 + i, listeners[i * 7],
                      listeners[i * 7].laddr.text())
    w.tcp_listen(a, "2001:db8:1234:5678:9abc:def0:1234:5678", 65000)
    w.fork(a, "pv-threads-kid")  # every socket of a now has two owners
    w.check_kernel()


def main():
    common.enter_netns()
    binary = common.require_portview()
    common.add_lo_addr("2001:db8:1234:5678:9abc:def0:1234:5678/128")
    w = common.World()
    try:
        build(w)
        sys.exit(check(w, binary))
    finally:
        w.stop()


def check(w, binary):
    ck = common.Checker()
    rows = common.select(w.socks, all=True)
    ck.ok(len(rows) > 12 * 128, "the table has %d rows: more than twelve "
          "chunks of 128" % len(rows))
    for argv, owner, program, wide in ((["-an"], False, False, False),
                                       (["-ano"], True, False, False),
                                       (["-anp"], False, True, False),
                                       (["-anpW"], False, True, True)):
        want = common.render_table(rows, w.comms, owner, program, wide=wide)
        for var in ("PORTVIEW_TABLE_THREADS", "PORTVIEW_DUMP_THREADS"):
            for n in ("1", "2", "4"):
                rc, out, err = run(binary, argv, {var: n})
                name = "%s=%s portview %s" % (var, n, " ".join(argv))
                ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
                ck.eq(out, want, name + ": the exact table (%d rows)"
                      % len(rows))

    # -i: tcp_info's columns move with the connections; the rows (the
    # first four columns) are the model's, and both ways give the same
    rc1, one, err1 = run(binary, ["-anoi"], {"PORTVIEW_TABLE_THREADS": "1",
                                             "PORTVIEW_DUMP_THREADS": "1"})
    rc2, two, err2 = run(binary, ["-anoi"], {"PORTVIEW_TABLE_THREADS": "2",
                                             "PORTVIEW_DUMP_THREADS": "2"})
    ck.eq((rc1, err1, rc2, err2), (0, "", 0, ""), "-anoi on one thread and "
          "on two: exit 0, stderr empty")
    def netstat_part(text):
        """The first four columns: what is left of each line before PID."""
        lines = text.splitlines()
        at = lines[3].index("PID") if len(lines) > 3 else 0
        return [line[:at].rstrip() for line in lines]
    ck.eq(netstat_part(two), netstat_part(one),
          "-anoi on two threads: the rows one thread lists")
    ck.eq(netstat_part(one),
          netstat_part(common.render_table(rows, w.comms, True)),
          "-anoi: the model's rows")

    for var in ("PORTVIEW_TABLE_THREADS", "PORTVIEW_DUMP_THREADS"):
        for bad in ("0", "5", "x", "-1"):
            rc, out, err = run(binary, ["-an"], {var: bad})
            ck.eq((rc, out, err), (2, "", "portview: %s=%s: not a number of "
                                   "threads (valid: 1 to 4)\n" % (var, bad)),
                  "%s=%s: exit 2, one line naming it" % (var, bad))
    ck.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The table on a terminal: fitted to its width, every port a number or a
name from /etc/services, shared sockets condensed; and the same listing in
a pipe, whole.

The host of issue 12: servers on ports 22, 80, 3000, 6379, 8080 and 9200,
a prefork listener shared by 6 processes, clients over global IPv6
addresses.  portview -no runs on a pseudo-terminal of 80 columns (the
terminal's own size, as TIOCGWINSZ gives it) and must print exactly the
netstat columns of the model, fitted: no line wider than 80 columns, every
port number in the addresses, the shared listener as "PID (+5)".  In a
pipe the same command prints every column at full width; -W on the
terminal does too.  Colour follows TERM: xterm colours, dumb does not.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import atexit
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SGR = re.compile(rb"\x1b\[[0-9;]*m")


def visible(b):
    return SGR.sub(b"", b).decode("utf-8", "surrogateescape")


def main():
    common.enter_netns()
    binary = common.require_portview()
    common.add_lo_addr("2001:db8:4::10/64")
    common.add_lo_addr("2001:db8:4::20/64")
    common.add_lo_addr("2001:db8:1234:5678:a00:27ff:fe4e:66a1/64")
    w = common.World()
    web = w.holder("pv-web")
    db = w.holder("pv-db")
    cli = w.holder("pv-client")
    try:
        socks = []
        for port in (22, 80, 3000, 8080, 9200):
            socks.append(w.tcp_listen(web, "::", port))
        redis = w.tcp_listen(db, "127.0.0.1", 6379)
        pre = w.tcp_listen(web, "0.0.0.0", 8000)  # a prefork server
        for i in range(5):
            w.fork(web, "pv-worker")
        for i, port in enumerate((80, 3000, 9200, 8080)):
            w.tcp_connect(cli, "2001:db8:4::20", 41000 + i,
                          socks[[22, 80, 3000, 8080, 9200].index(port)],
                          "2001:db8:4::10")
        w.tcp_connect(cli, "127.0.0.1", 42000, redis, "127.0.0.1")
        w.tcp_connect(cli, "127.0.0.1", 42001, pre, "127.0.0.1")
        w.check_kernel()
        cases(binary, w)
    finally:
        w.stop()


def cases(binary, w):
    c = common.Checker()
    fd, services = tempfile.mkstemp(prefix="pv-terminal-services-")
    atexit.register(os.unlink, services)
    with os.fdopen(fd, "w") as f:  # what Debian's /etc/services names
        f.write("ssh 22/tcp\nhttp 80/tcp\nhttp-alt 8080/tcp\n")
    env = dict(os.environ, PORTVIEW_SERVICES=services, TERM="xterm")
    env.pop("NO_COLOR", None)
    env.pop("COLUMNS", None)
    connected = common.select(w.socks)

    # In a pipe: every column, whole (wider than 80 with the annotations).
    rc, out, err = common.run_portview(["-no"], binary)
    c.eq((rc, err), (0, ""), "pipe: exit 0, stderr empty")
    widest = max(len(l) for l in out.splitlines())
    c.ok(widest > 80 and "Local Port" in out and "Foreign Port" in out,
         "pipe: the whole table, annotation columns included (%d columns)"
         % widest, out)

    # On an 80-column terminal: the model's netstat columns, fitted.
    rc, raw = common.run_on_pty([binary, "-no"], 80, env=env)
    got = visible(raw)
    c.eq(rc, 0, "80-column terminal: exit 0")
    c.ok(b"\x1b[32mESTABLISHED" in raw, "TERM=xterm: coloured", raw)
    lines = got.splitlines()
    c.ok(all(len(l) <= 80 for l in lines),
         "80-column terminal: no line wider than 80 columns",
         "\n".join(l for l in lines if len(l) > 80))
    want = common.render_table(connected, w.comms, owner=True)
    if max(len(l) for l in want.splitlines()) > 80:
        want = common.render_table(connected, w.comms, owner=True,
                                   compact=True)
    if max(len(l) for l in want.splitlines()) > 80:
        want = common.render_table(connected, w.comms, owner=True,
                                   compact=True, indent=0)
    c.eq(got, want, "80-column terminal: the netstat columns, fitted")
    for port in (3000, 9200, 6379, 8000):
        c.ok(re.search(r":%d\b" % port, got) is not None,
             "80-column terminal: port %d stays a number" % port, got)
    c.ok(":http-alt " in got or ":8080 " in got, "8080 named from /etc/services")

    rc, raw = common.run_on_pty([binary, "-ano"], 80, env=env)
    got = visible(raw)
    listeners = [s for s in w.socks
                 if s.lport == 8000 and s.state == common.LISTEN]
    pids = sorted(listeners[0].owners)
    c.eq(len(pids), 6, "the prefork listener is held by 6 processes")
    c.ok(re.search(r"0\.0\.0\.0:8000 .* LISTENING +%d \(\+5\)$" % pids[0],
                   got, re.M) is not None,
         "80-column terminal: the shared listener shows '%d (+5)'" % pids[0], got)
    c.ok(all(len(l) <= 80 for l in got.splitlines()),
         "-ano on 80 columns: no line wider than 80 columns")

    # -W on the terminal: everything, every owner.
    rc, raw = common.run_on_pty([binary, "-anoW"], 80, env=env)
    got = visible(raw)
    c.ok(rc == 0 and "Foreign Port" in got and
         ",".join(str(p) for p in pids) in got,
         "-W on a terminal: every column and every owner", got)

    # A SLAAC address is never cut: a row it makes too wide stays whole.
    long_addr = "2001:db8:1234:5678:a00:27ff:fe4e:66a1"
    http = [s for s in w.socks if s.lport == 80 and s.state == common.LISTEN]
    w.tcp_connect(w.holders[2], long_addr, 43000, http[0], long_addr)
    rc, raw = common.run_on_pty([binary, "-no"], 80, env=env)
    got = visible(raw)
    row = [l for l in got.splitlines()
           if len(l.split()) > 1 and l.split()[1].endswith(":43000")]
    c.ok(rc == 0 and len(row) == 1 and "[%s]:43000" % long_addr in row[0]
         and len(row[0]) > 80,
         "80 columns: an address is never cut, the row stays whole", got)

    # TERM=dumb: no colour under --color=auto.
    rc, raw = common.run_on_pty([binary, "-no"], 80,
                                env=dict(env, TERM="dumb"))
    c.ok(rc == 0 and b"\x1b[" not in raw, "TERM=dumb: no colour", raw)
    c.finish()


if __name__ == "__main__":
    main()

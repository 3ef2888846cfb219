#!/usr/bin/env python3
"""--lookup PORT answers "who uses it now" with every process holding it.

A prefork server: pv-web listens on 127.0.0.1:6400 (a port IANA leaves
unassigned) and forks four pv-worker children that share the listener;
pv-client is connected to it.  The listing condenses a shared socket to
"PID (+4)"; --lookup 6400 must name all five holders of the listener, in
a pipe and on an 80-column terminal alike (the lines are the same: the
answer's listing is not fitted to the terminal), every line exactly.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PORT = 6400


def expected(web, workers, client):
    """The whole answer, as portview prints it."""
    holders = ",".join("%d/%s" % (p, c) for p, c in
                       sorted([(web, "pv-web")] + [(w, "pv-worker")
                                                   for w in workers]))
    rows = [
        ["TCP", "127.0.0.1:6400", "0.0.0.0:0", "LISTENING", holders,
         "- registered", "-"],
        ["TCP", "127.0.0.1:6400", "127.0.0.1:41000", "ESTABLISHED",
         "%d/pv-web" % web, "- registered", "- registered"],
        ["TCP", "127.0.0.1:41000", "127.0.0.1:6400", "ESTABLISHED",
         "%d/pv-client" % client, "- registered", "- registered"],
    ]
    titles = ["Proto", "Local Address", "Foreign Address", "State",
              "PID/Program name", "Local Port", "Foreign Port"]
    mins = [7, 23, 23, 16, 0, 11, 0]
    widths = [max([m, len(t) + 1] + [len(r[i]) + 1 for r in rows])
              for i, (t, m) in enumerate(zip(titles, mins))]
    table = ["  " + ("".join(c.ljust(w) for c, w in zip(r[:-1], widths))
                     + r[-1]).rstrip(" ") for r in [titles] + rows]
    return "\n".join([
        "Port 6400",
        "  Class:      registered (1024-49151, registered with IANA)",
        "  Ephemeral:  no (this host's range is 50000-50999)",
        "  Services:",
        "    6400/tcp    unassigned",
        "    6400/udp    unassigned",
        "",
        "Active Connections",
        ""] + table) + "\n"


def main():
    common.enter_netns()
    binary = common.require_portview()
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("50000 50999\n")
    w = common.World()
    web = w.holder("pv-web")
    cli = w.holder("pv-client")
    try:
        listener = w.tcp_listen(web, "127.0.0.1", PORT)
        workers = [w.fork(web, "pv-worker") for _ in range(4)]
        w.tcp_connect(cli, "127.0.0.1", 41000, listener, "127.0.0.1")
        w.check_kernel()
        cases(binary, web.pid, workers, cli.pid)
    finally:
        w.stop()


def cases(binary, web, workers, client):
    c = common.Checker()
    want = expected(web, workers, client)
    env = dict(os.environ, PORTVIEW_SERVICES="/dev/null", TERM="dumb")
    env.pop("COLUMNS", None)
    os.environ.update(PORTVIEW_SERVICES="/dev/null")

    # The listing itself still condenses the shared listener.
    rc, out, err = common.run_portview(["-lpn", "--plain", "--port", str(PORT)], binary)
    c.ok(rc == 0 and re.search(r"LISTENING +%d/pv-web \(\+4\)$" % web, out,
                               re.M) is not None,
         "the listing: the shared listener as '%d/pv-web (+4)'" % web, out)

    rc, out, err = common.run_portview(["-n", "--lookup", str(PORT)], binary)
    c.eq((rc, err), (0, ""), "pipe: exit 0, stderr empty")
    c.eq(out, want, "pipe: -n --lookup %d names all five holders" % PORT)

    rc, raw = common.run_on_pty([binary, "-n", "--lookup", str(PORT)], 80, env=env)
    got = raw.decode("utf-8", "surrogateescape")
    c.eq(rc, 0, "80-column terminal: exit 0")
    c.eq(got, want, "80-column terminal: every holder too, no '(+4)'")
    c.finish()


if __name__ == "__main__":
    main()

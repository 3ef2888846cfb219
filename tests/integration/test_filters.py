#!/usr/bin/env python3
"""Filters that answer the everyday questions: by address or network
(--src, --dst, in the kernel), by process (--pid, --program), without
loopback (--no-loopback); a filter that names something asks about every
state; an empty listing on a terminal says what the states left out.

In a private network namespace, processes pv-alpha, pv-beta and pv-gamma
hold listeners and connections over 10.1.0.1, 10.2.0.5, 192.168.7.1,
2001:db8:5::1, 2001:db9::1 and loopback, and a dual-stack listener takes
a v4 client (a socket whose local address is ::ffff:10.1.0.1).  Each
filter must print exactly the rows of the model, the same rows in JSON,
and, for addresses, run in the kernel: PORTVIEW_DEBUG shows a filter
program and the kernel returning only the matching sockets.  With 1,200
more connections, --state established is one walk whose boundaries are
checked (the whole established hash asked for, the rest dropped), and a
state no socket is in is asked for alone.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import ipaddress
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def in_net(addr, port, net):
    """Whether an endpoint (common.Addr) lies in network net, the way the
    kernel's S_COND/D_COND match: an IPv4 network also holds the IPv4
    address of a v4-mapped one."""
    n = ipaddress.ip_network(net, strict=False)
    ip = ipaddress.ip_address(addr.packed)
    if ip.version != n.version and ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.version == n.version and ip in n


def foreign(s):
    """The foreign endpoint's address as the kernel holds it (listeners and
    unconnected sockets: the wildcard)."""
    if s.state == common.LISTEN or (s.proto == "UDP" and s.state == common.CLOSE):
        return common.any_addr(s.family)
    return s.raddr


def main():
    common.enter_netns()
    binary = common.require_portview()
    for a in ("10.1.0.1/32", "10.2.0.5/32", "192.168.7.1/32",
              "2001:db8:5::1/128", "2001:db9::1/128"):
        common.add_lo_addr(a)
    w = common.World()
    alpha = w.holder("pv-alpha")
    beta = w.holder("pv-beta")
    gamma = w.holder("pv-gamma")
    try:
        l10 = w.tcp_listen(alpha, "10.1.0.1", 3000)
        l192 = w.tcp_listen(beta, "192.168.7.1", 80)
        l6 = w.tcp_listen(beta, "2001:db8:5::1", 443)
        dual = w.tcp_listen(gamma, "::", 8080, v6only=0)
        lo = w.tcp_listen(gamma, "127.0.0.1", 6379)
        w.tcp_connect(beta, "10.2.0.5", 41000, l10, "10.1.0.1")
        w.tcp_connect(gamma, "192.168.7.1", 41001, l10, "10.1.0.1")
        w.tcp_connect(alpha, "10.2.0.5", 41002, l192, "192.168.7.1")
        w.tcp_connect(alpha, "2001:db9::1", 41003, l6, "2001:db8:5::1")
        w.tcp_connect(alpha, "10.1.0.1", 41004, dual, "10.1.0.1")
        w.tcp_connect(beta, "127.0.0.1", 41005, lo, "127.0.0.1")
        w.udp_bind(alpha, "10.2.0.5", 5353)
        w.check_kernel()
        c = common.Checker()
        cases(c, binary, w, alpha.pid, beta.pid, gamma.pid)
        errors(c, binary)
        empty_hint(c, binary)
        state_walk(c, binary, w)
        c.finish()
    finally:
        w.stop()


def check(c, binary, args, rows, kernel=False, owner=False):
    name = "portview %s" % " ".join(args)
    c.ok(len(rows) > 0, "model: %s selects %d rows" % (name, len(rows)))
    env = dict(os.environ, PORTVIEW_DEBUG="1")
    rc, out, err = common.run_portview(args, binary, plain=True)
    want = common.render_table(rows, owner=owner)
    c.eq((rc, out), (0, want), name + ": exit 0, the model's rows")
    rc, out, err = common.run_portview(args + ["--json"], binary)
    try:
        got = sorted((o["local"]["address"], o["local"]["port"],
                      o["foreign"]["address"] or "-", o["state"] or "")
                     for o in json.loads(out))
    except ValueError as e:
        got = "not JSON: %s" % e
    c.eq(got, sorted((common.json_address(s.laddr), s.lport,
                      common.json_address(s.raddr)
                      if s.foreign_text() not in ("*:*",) and s.state != common.LISTEN
                      else "-", s.state_text())
                     for s in rows),
         name + " --json: the same rows")
    if kernel:
        # The kernel ran the filter: a program was sent, and the TCP dump
        # returned only matching sockets.
        import subprocess
        r = subprocess.run([binary] + args + ["-n"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        # (with several CPUs, TCP comes in two dumps side by side)
        m = re.findall(r"TCP dump: (\d+) sockets .*filter program (\d+) bytes",
                       r.stderr)
        tcp = len([s for s in rows if s.proto == "TCP"])
        c.ok(m and all(int(p) > 0 for _, p in m) and sum(int(n) for n, _ in m) == tcp,
             name + ": filtered in the kernel (%d TCP sockets)" % tcp, r.stderr)


def cases(c, binary, w, alpha, beta, gamma):
    every = common.select(w.socks, all=True)
    conns = common.select(w.socks)
    # --dst 10.0.0.0/8, with no state option: every state
    check(c, binary, ["--dst", "10.0.0.0/8"],
          [s for s in every if in_net(foreign(s), s.rport, "10.0.0.0/8")], kernel=True)
    check(c, binary, ["--src", "10.0.0.0/8"],
          [s for s in every if in_net(s.laddr, s.lport, "10.0.0.0/8")], kernel=True)
    # a list, repeated options OR, --src and --dst AND
    check(c, binary, ["--src", "10.1.0.1,192.168.7.1"],
          [s for s in every if in_net(s.laddr, 0, "10.1.0.1/32") or
           in_net(s.laddr, 0, "192.168.7.1/32")], kernel=True)
    check(c, binary, ["--src", "10.1.0.1", "--src", "192.168.7.1/32"],
          [s for s in every if in_net(s.laddr, 0, "10.1.0.1/32") or
           in_net(s.laddr, 0, "192.168.7.1/32")], kernel=True)
    check(c, binary, ["--src", "10.0.0.0/8", "--dst", "10.2.0.0/16"],
          [s for s in every if in_net(s.laddr, 0, "10.0.0.0/8") and
           in_net(foreign(s), 0, "10.2.0.0/16")], kernel=True)
    # IPv6 networks, brackets allowed
    check(c, binary, ["--src", "2001:db8::/32"],
          [s for s in every if in_net(s.laddr, 0, "2001:db8::/32")], kernel=True)
    check(c, binary, ["--dst", "[2001:db8:5::1]"],
          [s for s in every if in_net(foreign(s), 0, "2001:db8:5::1/128")],
          kernel=True)
    # with a state option, that state only
    check(c, binary, ["-l", "--src", "10.0.0.0/8"],
          [s for s in common.select(w.socks, listening=True)
           if in_net(s.laddr, 0, "10.0.0.0/8")])
    # the v4-mapped socket of the dual-stack listener is in 10.1.0.1/32
    mapped = [s for s in every if s.laddr.is_v4_mapped()]
    c.eq(len(mapped), 1, "model: one v4-mapped socket")
    # processes: asked about, so shown (the PID column without -o)
    check(c, binary, ["--pid", str(alpha)],
          [s for s in every if alpha in s.owners], owner=True)
    check(c, binary, ["--pid", "%d,%d" % (beta, gamma)],
          [s for s in every if {beta, gamma} & s.owners], owner=True)
    check(c, binary, ["--command", "pv-gamma"],
          [s for s in every if gamma in s.owners], owner=True)
    check(c, binary, ["--program=pv-gamma"],
          [s for s in every if gamma in s.owners], owner=True)
    check(c, binary, ["--command", "pv-gamma", "--command", "pv-beta", "-t"],
          [s for s in every if ({gamma, beta} & s.owners) and s.proto == "TCP"],
          owner=True)
    check(c, binary, ["--pid", str(alpha), "--command", "pv-alpha",
                      "--dst", "10.0.0.0/8"],
          [s for s in every if alpha in s.owners and
           in_net(foreign(s), 0, "10.0.0.0/8")], owner=True)
    # --command as lsof's -c: a prefix of the name, or /REGEX/
    check(c, binary, ["--command", "pv-g"],
          [s for s in every if gamma in s.owners], owner=True)
    check(c, binary, ["--command", "pv-"],
          [s for s in every if {alpha, beta, gamma} & s.owners], owner=True)
    check(c, binary, ["--command", "/^pv-(alpha|gamma)$/"],
          [s for s in every if {alpha, gamma} & s.owners], owner=True)
    check(c, binary, ["--command", "/amm/"],
          [s for s in every if gamma in s.owners], owner=True)
    rc, out, err = common.run_portview(["--command", "pv-gammax", "-H"], binary,
                                       plain=True)
    c.eq((rc, out, err), (0, "", ""), "--command longer than the name: no rows")
    # -p already shows the owners: no PID column besides
    rc, out, err = common.run_portview(["--pid", str(alpha), "-p"], binary, plain=True)
    c.ok(rc == 0 and "PID/Program name" in out and " PID " not in out,
         "--pid with -p: the PID/Program column only", out)
    # loopback hidden (127.0.0.0/8 and ::1 as the local address)
    check(c, binary, ["-a", "--no-loopback"],
          [s for s in every if not ipaddress.ip_address(s.laddr.packed).is_loopback])
    check(c, binary, ["--no-loopback"],
          [s for s in conns if not ipaddress.ip_address(s.laddr.packed).is_loopback])
    # who holds 3000?  the listener, without -a
    rc, out, err = common.run_portview(["--port", "3000", "-o"], binary, plain=True)
    c.ok(rc == 0 and re.search(r"^  TCP +10\.1\.0\.1:3000 +0\.0\.0\.0:0 +LISTENING +%d$"
                               % alpha, out, re.M) is not None,
         "portview --port 3000 -o names the listener", out)


def errors(c, binary):
    for args, msg in [
            (["--dst", "10.0.0.0/33"], "--dst 10.0.0.0/33: prefix length out of range (0-32)"),
            (["--src", "2001:db8::/129"],
             "--src 2001:db8::/129: prefix length out of range (0-128)"),
            (["--src", "10.0.0.0/x"], "--src 10.0.0.0/x: not a prefix length (0-32)"),
            (["--src", "foo"], "--src foo: not an IPv4 or IPv6 address or CIDR prefix"),
            (["--dst", "10.0.0.1,,10.0.0.2"], "--dst 10.0.0.1,,10.0.0.2: empty item in the list"),
            (["--dst", ""], "--dst '': empty address"),
            (["--pid", "0"], "--pid 0: not a process ID"),
            (["--pid", "1,x"], "--pid 1,x: x: not a process ID"),
            (["--command", ""], "--command '': empty program name"),
            (["--program="], "--program=: empty program name"),
            (["--command", "a-sixteen-chars!"],
             "--command a-sixteen-chars!: longer than a command name can be (15 bytes)"),
            (["--command", "/(/"], "--command /(/: not a regular expression")]:
        rc, out, err = common.run_portview(args, binary)
        c.eq((rc, out, err), (2, "", "portview: %s\n" % msg),
             "portview %s: usage error" % " ".join(args))


def empty_hint(c, binary):
    """On a terminal, an empty listing says what the states left out."""
    env = dict(os.environ, TERM="dumb")
    for args, hint in [
            (["-n", "--port", "3000", "--state", "time-wait"],
             "portview: no sockets in the states asked for; 5 in other states "
             "match: add --state all"),
            (["-n", "-l", "--dst", "10.2.0.5"],
             "portview: no listening sockets; 2 connections match: add -a"),
            (["-n", "--port", "4444"], "portview: no sockets match"),
            (["-n", "-u"],
             "portview: no connections; 1 listening socket matches: add -a"),
            (["-n", "--src", "127.0.0.1", "--state", "established", "-u"],
             "portview: no sockets in the states asked for"),
    ]:
        rc, out = common.run_on_pty([binary] + args, 80, env=env)
        text = out.decode()
        c.ok(rc == 0 and text.rstrip("\n").endswith(hint),
             "on a terminal, portview %s ends with %r" % (" ".join(args), hint), text)
    rc, out2, err = common.run_portview(["-n", "--port", "4444"], binary)
    c.eq((rc, out2, err), (0, "\nActive Connections\n\n  Proto  Local Address          "
                           "Foreign Address        State           Local Port "
                           "Foreign Port\n", ""),
         "in a pipe an empty listing says nothing on stderr")


def tcp_debug(err):
    """The states asked of the kernel and the debug line of the TCP dump."""
    m = re.search(r"^portview: debug: TCP dump: .*states 0x([0-9a-f]+),.*$", err, re.M)
    return (int(m.group(1), 16), m.group(0)) if m else (None, err)


def state_walk(c, binary, w):
    """--state ESTABLISHED over a walk of several datagrams: one walk of
    the established hash, its boundaries checked, not three (a walk asking
    for only some of that hash's states cannot be checked, so portview asks
    for them all and drops the rest); a state that few sockets are in is
    asked for alone."""
    many = w.holder("pv-many")
    n = 600  # 1,200 ESTABLISHED sockets: some five datagrams
    many.cmd("nofile", 2 * n + 100)
    w.tcp_listen(many, "127.0.0.3", 7500, backlog=n + 10)
    many.cmd("tcp_connect_auto", "127.0.0.3", 7500, n)
    want = len([s for s in w.socks if s.proto == "TCP" and s.state == common.ESTABLISHED])
    env = dict(os.environ, PORTVIEW_DEBUG="1")
    import subprocess
    r = subprocess.run([binary, "-nt", "--state", "established", "--json"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    try:
        states = sorted(set(o["state"] for o in json.loads(r.stdout)))
        rows = len(json.loads(r.stdout))
    except ValueError as e:
        states, rows = "not JSON: %s" % e, 0
    c.eq((r.returncode, states, rows), (0, ["ESTABLISHED"], want + 2 * n),
         "portview -nt --state established: every ESTABLISHED socket, no other state")
    mask, line = tcp_debug(r.stderr)
    c.ok(mask is not None and mask & (1 << 6) and mask & (1 << 8)
         and "walks again 0," in line and "slices 0 " in line and "second pass none," in line
         and not re.search(r"boundary records checked 0 ", line),
         "--state established: the whole established hash asked for, in one walk "
         "whose boundaries were checked", line)
    for state, bit in (("syn-sent", 2), ("time-wait", 6)):
        r = subprocess.run([binary, "-nt", "--state", state], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        mask, line = tcp_debug(r.stderr)
        c.eq((r.returncode, mask), (0, 1 << bit),
             "--state %s, which no socket here is in: asked for alone (%s)" % (state, line))


if __name__ == "__main__":
    main()

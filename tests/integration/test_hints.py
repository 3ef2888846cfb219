#!/usr/bin/env python3
"""A newcomer's habits from other tools, and what portview says to them:
the exact message and exit status, in a pipe and on a terminal (a pty,
where standard output and error are the same device).

- a trailing number that cannot be meant as an interval (over 300, or a
  port a socket uses) offers both readings; netstat -no 5 still works;
- lsof's -i :22 and -i TCP:22, ss's :22, --port :80, an address with a
  port, an end (10.0.0.1:8080) where an interval may stand, ss's -E, -K
  and -x, Windows netstat's -b (-anob), netstat's -r, an ss filter
  expression, --pid NAME;
- a --pid that is not running, a mistyped -N name, --state help and a
  bad --state word, and a process filter showing the PID column.

In private network, PID and mount namespaces (root); exit 77 otherwise.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

STATES = ("established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, "
          "time-wait, close, close-wait, last-ack, listening, closing, "
          "bound; groups: all, connected, synchronized, bucket, big")


def both(c, binary, args, rc, stderr, usage, env=None):
    """portview args fails with rc, nothing on stdout and exactly stderr
    (then the usage lines when usage is set), in a pipe and on a pty."""
    want = stderr + "\n" + (usage if usage else "")
    name = "portview %s" % " ".join(repr(a) if " " in a or not a else a
                                    for a in args)
    got = common.run_portview(args, binary)
    c.eq(got, (rc, "", want), name + ": in a pipe, exit %d and the message" % rc)
    env = dict(os.environ, TERM="dumb", NO_COLOR="1")
    prc, out = common.run_on_pty([binary] + args, 100, env=env)
    c.eq((prc, out.decode("utf-8", "surrogateescape")), (rc, want),
         name + ": on a terminal, exit %d and the message" % rc)


def usage_block(binary):
    rc, out, err = common.run_portview(["--help"], binary)
    lines = out.split("\n\n")[0]
    return lines + "\nTry 'portview --help' for more information.\n"


def numbers(c, binary, usage):
    """A number that is a port more likely than an interval."""
    def question(n):
        return ("portview: %s: a port or an interval? write --port %s for the "
                "sockets on that port, or --interval %s to list them every %s "
                "seconds" % (n, n, n, n))
    both(c, binary, ["6379"], 2, question("6379"), None)
    both(c, binary, ["-no", "301"], 2, question("301"), None)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 80))
    listener.listen()
    try:
        both(c, binary, ["-p", "80"], 2, question("80"), None)
        # the netstat habit: a small number no socket uses is the interval
        for args in (["-ano", "5", "--count", "1"], ["-an", "300", "--count", "1"],
                     ["-ano", "0.5", "--count", "1"]):
            rc, out, err = common.run_portview(args, binary, timeout=60)
            c.ok(rc == 0 and err == "" and "127.0.0.1:80" in out,
                 "portview %s: one listing, exit 0" % " ".join(args),
                 "rc %d, stderr %r" % (rc, err))
        # --interval takes what a trailing number may not
        rc, out, err = common.run_portview(["--interval", "6379", "--count", "1"],
                                           binary, timeout=60)
        c.eq((rc, err), (0, ""), "--interval 6379 --count 1: exit 0")
    finally:
        listener.close()


def other_tools(c, binary, usage):
    stray = "portview: unexpected argument '%s'; %s"
    both(c, binary, ["-i", ":22"], 2, stray % (
        ":22", "lsof's -i :22 is --port 22 here (-i shows TCP internals)"), usage)
    both(c, binary, ["-i", "TCP:22"], 2, stray % (
        "TCP:22", "lsof's -i TCP:22 is -t --port 22 here (-i shows TCP "
        "internals)"), usage)
    both(c, binary, [":22"], 2, stray % (
        ":22", "for the sockets on port 22 write --port 22"), usage)
    both(c, binary, ["udp:53"], 2, stray % (
        "udp:53", "for the sockets on port 53 write -u --port 53"), usage)
    both(c, binary, ["( dport = :443 )"], 2, stray % (
        "( dport = :443 )", "ss's filter expressions are options here: write "
        "--dport 443"), usage)
    both(c, binary, ["sport == :22 and dst 10.0.0.1"], 2, stray % (
        "sport == :22 and dst 10.0.0.1", "ss's filter expressions are options "
        "here: write --sport 22 --dst 10.0.0.1"), usage)
    both(c, binary, ["--port", ":80"], 2, "portview: --port :80: not a port, "
         "range N-M or service name; write --port 80 (ss's ':' is not needed "
         "here)", None)
    both(c, binary, ["--sport=:80"], 2, "portview: --sport=:80: not a port, "
         "range N-M or service name; write --sport 80 (ss's ':' is not needed "
         "here)", None)
    both(c, binary, ["--dst", "10.0.0.1:8080"], 2, "portview: --dst "
         "10.0.0.1:8080: an address with a port; write --dst 10.0.0.1 --dport "
         "8080", None)
    both(c, binary, ["--src", "[2001:db8::1]:443"], 2, "portview: --src "
         "[2001:db8::1]:443: an address with a port; write --src 2001:db8::1 "
         "--sport 443", None)
    # an end as netstat prints it, where a trailing interval may stand
    end = "for the sockets connected to that end write "
    both(c, binary, ["-no", "10.0.0.1:8080"], 2, stray % (
        "10.0.0.1:8080", end + "--dst 10.0.0.1 --dport 8080 (--src, --sport "
        "for this host's end)"), usage)
    both(c, binary, ["--kill", "[2001:db8::1]:443"], 2, stray % (
        "[2001:db8::1]:443", end + "--dst 2001:db8::1 --dport 443 (--src, "
        "--sport for this host's end)"), usage)
    both(c, binary, ["192.0.2.7"], 2, stray % (
        "192.0.2.7", end + "--dst 192.0.2.7 (--src for this host's end)"),
        usage)
    both(c, binary, ["--pid", "nginx"], 2, "portview: --pid nginx: not a "
         "process ID; a process name: write --command nginx", None)
    invalid = "portview: invalid option -- '%s'; %s"
    both(c, binary, ["-E"], 2, invalid % ("E", "ss's -E is --events here"),
         usage)
    both(c, binary, ["-K"], 2, invalid % (
        "K", "ss's -K is --kill here (with a filter: portview --kill --dport "
        "443)"), usage)
    both(c, binary, ["-x"], 2, invalid % (
        "x", "portview lists TCP and UDP sockets, not UNIX ones (ss -x lists "
        "those)"), usage)
    # Windows' netstat -anob, Linux netstat's -r
    both(c, binary, ["-anob"], 2, invalid % (
        "b", "Windows netstat's -b (the program) is -p here (portview -anp)"),
        usage)
    both(c, binary, ["-r"], 2, invalid % (
        "r", "portview lists sockets, not routes (ip route lists those)"), usage)
    # control bytes in the words are echoed escaped, and get no hint
    both(c, binary, ["--pid", "ng\x1bx"], 2, "portview: --pid ng\\x1bx: not "
         "a process ID", None)


def processes(c, binary):
    # A PID that is not running (in this PID namespace, 99999 is not).
    both(c, binary, ["--pid", "99999"], 2,
         "portview: --pid 99999: no such process", None)
    both(c, binary, ["--pid", "1,99999"], 2,
         "portview: --pid 1,99999: 99999: no such process", None)
    # A process filter shows the owners, without -o: this process's
    # listener, by its PID and by a prefix of its name.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    comm = open("/proc/self/comm").read().strip()
    try:
        for args in (["--pid", str(os.getpid())], ["--command", comm[:4]]):
            rc, out, err = common.run_portview(args, binary, plain=True)
            header = out.split("\n")[3] if out.count("\n") > 3 else ""
            c.ok(rc == 0 and err == "" and header.rstrip().endswith("PID") and
                 "%d" % os.getpid() in out,
                 "portview %s: the PID column without -o" % " ".join(args), out)
            env = dict(os.environ, TERM="dumb", NO_COLOR="1")
            prc, pout = common.run_on_pty([binary] + args + ["-n", "--plain"], 120,
                                          env=env)
            text = pout.decode("utf-8", "surrogateescape")
            c.ok(prc == 0 and " PID" in text and "%d" % os.getpid() in text,
                 "on a terminal, portview %s: the PID column without -o"
                 % " ".join(args), text)
    finally:
        listener.close()


def states(c, binary):
    rc, out, err = common.run_portview(["--state", "help"], binary)
    c.eq((rc, out, err), (0, STATES + "\n", ""), "--state help: the states, exit 0")
    env = dict(os.environ, TERM="dumb")
    prc, pout = common.run_on_pty([binary, "--state", "help"], 80, env=env)
    c.eq((prc, pout.decode()), (0, STATES + "\n"),
         "on a terminal, --state help: the states, exit 0")
    both(c, binary, ["--state", "open"], 2, "portview: --state open: unknown "
         "state (valid: %s)" % STATES, None)
    both(c, binary, ["--state", "estab,listn"], 2, "portview: --state "
         "estab,listn: listn: unknown state; did you mean listen?", None)


def netns_names(c, binary):
    if os.getpid() != 1:
        print("SKIP: -N names need a mount namespace of their own")
        return
    os.makedirs("/run/netns", exist_ok=True)
    common.sh(["mount", "-t", "tmpfs", "pv-hints", "/run/netns"])
    for n in ("web", "web2", "db"):
        common.sh(["ip", "netns", "add", n])
    both(c, binary, ["-N", "wbe"], 2, "portview: -N wbe: no such network "
         "namespace; did you mean web?", None)
    both(c, binary, ["--netns=dbb"], 2, "portview: --netns=dbb: no such "
         "network namespace; did you mean db?", None)
    both(c, binary, ["-N", "nothing-like-it"], 2, "portview: -N nothing-like-it: "
         "no such network namespace; ip netns list shows the names", None)


def listing(c, binary):
    """--list-options: the table, a line per option, tab-separated."""
    rc, out, err = common.run_portview(["--list-options"], binary)
    rows = [ln.split("\t") for ln in out.splitlines()]
    c.ok(rc == 0 and err == "" and rows and all(len(r) == 5 for r in rows),
         "--list-options: five tab-separated fields a line", out[:300])
    by = {r[0]: r for r in rows}
    c.eq(by.get("--netns"), ["--netns", "-N", "NS", "selection", "help"],
         "--list-options: --netns's row")
    c.eq(by.get("--color"), ["--color", "-", "[=WHEN]", "output", "help"],
         "--list-options: --color's row")
    c.eq(by.get("--list-options"), ["--list-options", "-", "-", "modes", "hidden"],
         "--list-options: its own row, hidden from --help")
    # -W adds no column: the same header as without it
    rc1, plain, _ = common.run_portview(["-an"], binary)
    rc2, wide, _ = common.run_portview(["-anW"], binary)
    c.eq(wide.split("\n")[:4], plain.split("\n")[:4], "-W adds no column")


def main():
    common.enter_netns(pidns=True)
    binary = common.require_portview()
    c = common.Checker()
    usage = usage_block(binary)
    numbers(c, binary, usage)
    other_tools(c, binary, usage)
    processes(c, binary)
    states(c, binary)
    netns_names(c, binary)
    listing(c, binary)
    c.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Port annotations, --ranges, --lookup and the port/class filters.

Runs in a private network namespace whose ephemeral range the test sets
(50000-50999, with 50010-50011 reserved), so classes, ephemeral marks and
range use are known exactly.  Service names come from the compiled-in IANA
table (PORTVIEW_SERVICES=/dev/null) unless a case says otherwise.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

RANGE = (50000, 50999)
RESERVED = "50010-50011"


def table(rows, owner=True):
    """Exact portview table for rows of (proto, local, foreign, state,
    pid, local annotation, foreign annotation)."""
    header = ["Proto", "Local Address", "Foreign Address", "State"]
    if owner:
        header.append("PID")
    header += ["Local Port", "Foreign Port"]
    body = []
    for r in rows:
        cells = list(r[:4]) + ([r[4]] if owner else []) + list(r[5:])
        body.append(cells)
    mins = [7, 23, 23, 16] + ([8] if owner else []) + [11, 0]
    widths = []
    for i, m in enumerate(mins):
        widths.append(max([m, len(header[i]) + 1] +
                          [len(b[i]) + 1 for b in body]))
    lines = ["", "Active Connections", ""]
    for cells in [header] + body:
        text = "".join(c.ljust(w) for c, w in zip(cells[:-1], widths))
        lines.append(("  " + text + cells[-1]).rstrip(" "))
    return "\n".join(lines) + "\n"


def main():
    common.enter_netns()
    binary = common.require_portview()
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("%d %d\n" % RANGE)
    with open("/proc/sys/net/ipv4/ip_local_reserved_ports", "w") as f:
        f.write(RESERVED + "\n")

    w = common.World()
    srv = w.holder("pv-server")
    cli = w.holder("pv-client")
    try:
        l443 = w.tcp_listen(srv, "127.0.0.1", 443)
        l6379 = w.tcp_listen(srv, "127.0.0.1", 6379)
        l8080 = w.tcp_listen(srv, "127.0.0.1", 8080)
        l22 = w.tcp_listen(srv, "127.0.0.1", 22)
        w.udp_bind(srv, "0.0.0.0", 53)
        w.tcp_connect(cli, "127.0.0.1", 50001, l443, "127.0.0.1")
        w.tcp_connect(cli, "127.0.0.1", 40000, l6379, "127.0.0.1")
        w.tcp_connect(cli, "127.0.0.1", 50010, l8080, "127.0.0.1")
        w.tcp_connect(cli, "127.0.0.1", 50999, l22, "127.0.0.1")
        w.tcp_connect(cli, "127.0.0.1", 49152, l443, "127.0.0.1")
        w.check_kernel()
        run_cases(binary, srv.pid, cli.pid)
    finally:
        w.stop()


def run(binary, args, env=None, prefix=()):
    e = dict(os.environ)
    e.setdefault("PORTVIEW_SERVICES", "/dev/null")
    e.update(env or {})
    r = subprocess.run(list(prefix) + [binary] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=20)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def run_cases(binary, s, c):
    ck = common.Checker()
    S, C = str(s), str(c)
    L = "127.0.0.1:"
    rows = {
        "l22": ("TCP", L + "22", "0.0.0.0:0", "LISTENING", S,
                "ssh well-known", "-"),
        "e22": ("TCP", L + "22", L + "50999", "ESTABLISHED", S,
                "ssh well-known", "- dynamic"),
        "l443": ("TCP", L + "443", "0.0.0.0:0", "LISTENING", S,
                 "https well-known", "-"),
        "e443a": ("TCP", L + "443", L + "49152", "ESTABLISHED", S,
                  "https well-known", "- dynamic"),
        "e443b": ("TCP", L + "443", L + "50001", "ESTABLISHED", S,
                  "https well-known", "- dynamic"),
        "l6379": ("TCP", L + "6379", "0.0.0.0:0", "LISTENING", S,
                  "redis registered", "-"),
        "e6379": ("TCP", L + "6379", L + "40000", "ESTABLISHED", S,
                  "redis registered", "safetynetp registered"),
        "l8080": ("TCP", L + "8080", "0.0.0.0:0", "LISTENING", S,
                  "http-alt registered", "-"),
        "e8080": ("TCP", L + "8080", L + "50010", "ESTABLISHED", S,
                  "http-alt registered", "- dynamic"),
        "c40000": ("TCP", L + "40000", L + "6379", "ESTABLISHED", C,
                   "safetynetp registered", "redis registered"),
        "c49152": ("TCP", L + "49152", L + "443", "ESTABLISHED", C,
                   "- dynamic", "https well-known"),
        "c50001": ("TCP", L + "50001", L + "443", "ESTABLISHED", C,
                   "- dynamic ephemeral", "https well-known"),
        # 50010 is reserved: dynamic, but never picked by the kernel
        "c50010": ("TCP", L + "50010", L + "8080", "ESTABLISHED", C,
                   "- dynamic", "http-alt registered"),
        "c50999": ("TCP", L + "50999", L + "22", "ESTABLISHED", C,
                   "- dynamic ephemeral", "ssh well-known"),
        "u53": ("UDP", "0.0.0.0:53", "*:*", "", S, "domain well-known", "-"),
    }
    order = ["l22", "e22", "l443", "e443a", "e443b", "l6379", "e6379", "l8080",
             "e8080", "c40000", "c49152", "c50001", "c50010", "c50999", "u53"]

    def expect(args, keys, what, owner=True, env=None):
        rc, out, err = run(binary, args, env)
        ck.eq((rc, err), (0, ""), what + ": exit 0, stderr empty")
        ck.eq(out, table([rows[k] for k in keys], owner), what + ": stdout")

    expect(["-ano"], order, "portview -ano")
    expect(["-an"], order, "portview -an (annotations without PID)",
           owner=False)
    conn = [k for k in order if rows[k][3] == "ESTABLISHED"]
    expect(["-no"], conn, "portview -no")

    # --plain: exactly the netstat columns
    rc, out, err = run(binary, ["-ano", "--plain"])
    ck.ok(rc == 0 and "Local Port" not in out and
          out.splitlines()[3].rstrip().endswith("State           PID"),
          "--plain drops the annotation columns")

    # Filters: exact rows, and the kernel returned only those sockets.
    # (args, rows, sockets the kernel returns but user space drops: the
    # reserved port 50010 lies inside the ephemeral range pushed down)
    cases = [
        (["--port", "8080"], ["l8080", "e8080", "c50010"]),
        (["--port", "https"], ["l443", "e443a", "e443b", "c49152", "c50001"]),
        (["--sport", "50000-50999"], ["c50001", "c50010", "c50999"]),
        (["--dport", "22,6379"], ["c40000", "c50999"]),
        (["--port", "22", "--port", "6379"],
         ["l22", "e22", "l6379", "e6379", "c40000", "c50999"]),
        (["--sport", "50001-65535", "--dport", "https"], ["c50001"]),
        (["--class", "ephemeral"], ["c50001", "c50999"], 1),
        (["--class", "well-known"], ["l22", "e22", "l443", "e443a", "e443b",
                                     "u53"]),
        (["--class", "dynamic"], ["c49152", "c50001", "c50010", "c50999"]),
        (["--class", "Registered,ephemeral"],
         ["l6379", "e6379", "l8080", "e8080", "c40000", "c50001", "c50999"], 1),
        (["--class", "ephemeral", "--dport", "22"], ["c50999"]),
        (["-u", "--port", "domain"], ["u53"]),
        (["--port", "40001"], []),
    ]
    for case in cases:
        args, keys, extra = case if len(case) == 3 else case + (0,)
        what = "portview -ano " + " ".join(args)
        rc, out, err = run(binary, ["-ano"] + args,
                           env={"PORTVIEW_DEBUG": "1"})
        ck.eq(rc, 0, what + ": exit 0")
        ck.eq(out, table([rows[k] for k in keys]), what + ": stdout")
        dumps = [l for l in err.splitlines() if " dump: " in l]
        # TCP: one dump for both families (or two side by side, the
        # connections', and the listeners' and bound sockets', on threads:
        # PORTVIEW_DUMP_THREADS); UDP: one per family
        ck.ok(len(dumps) in ((2,) if "-u" in args else (3, 4)),
              what + ": one debug line per kernel dump", err)
        kernel = sum(int(l.split(" dump: ")[1].split()[0]) for l in dumps)
        pushed = all("filter program 0 bytes" not in l for l in dumps)
        ck.ok(pushed and kernel == len(keys) + extra,
              what + ": filtered in the kernel (%d sockets returned, "
              "%d shown)" % (kernel, len(keys)), "\n".join(dumps))

    # --ranges: in use = distinct local ports in the range, reserved excluded
    rc, out, err = run(binary, ["--ranges"])
    ck.eq((rc, err), (0, ""), "--ranges: exit 0")
    ck.eq(out, "\n".join([
        "",
        "Local Port Ranges",
        "",
        "  Proto  Range          Start  Ports  Reserved  In Use  Used",
        "  TCP    ephemeral      50000  1000   2         2       0.20%",
        "  TCP    iana-dynamic   49152  16384  -         4       0.02%",
        "  UDP    ephemeral      50000  1000   2         0       0.00%",
        "  UDP    iana-dynamic   49152  16384  -         0       0.00%",
        ""]), "--ranges: exact table")
    # Both families draw on one port space: -4 would change nothing, and
    # says so instead of being ignored.
    ck.eq(run(binary, ["--ranges", "-4"]), (2, "", "portview: -4 cannot be "
          "combined with --ranges: it counts every socket in the ranges "
          "(only -t, -u and --json apply)\n"), "--ranges -4: usage error")
    rc, out, err = run(binary, ["--ranges", "-u"])
    ck.ok(rc == 0 and "TCP" not in out and out.count("UDP") == 2,
          "--ranges -u shows only UDP")

    # --lookup
    rc, out, err = run(binary, ["-n", "--lookup", "6379"])
    ck.eq((rc, err), (0, ""), "--lookup 6379: exit 0")
    prog = max(17, len(S) + 11, len(C) + 11)
    ck.eq(out, "\n".join([
        "Port 6379",
        "  Class:      registered (1024-49151, registered with IANA)",
        "  Ephemeral:  no (this host's range is 50000-50999)",
        "  Services:",
        "    6379/tcp    redis  [IANA]",
        "                  An advanced key-value cache and store",
        "    6379/udp    unassigned",
        "",
        "Active Connections",
        "",
        "  Proto  Local Address          Foreign Address        State"
        "           " + "PID/Program name".ljust(prog) +
        "Local Port            Foreign Port",
        "  TCP    127.0.0.1:6379         0.0.0.0:0              LISTENING"
        "       " + (S + "/pv-server").ljust(prog) +
        "redis registered      -",
        "  TCP    127.0.0.1:6379         127.0.0.1:40000        ESTABLISHED"
        "     " + (S + "/pv-server").ljust(prog) +
        "redis registered      safetynetp registered",
        "  TCP    127.0.0.1:40000        127.0.0.1:6379         ESTABLISHED"
        "     " + (C + "/pv-client").ljust(prog) +
        "safetynetp registered redis registered",
        ""]),
        "--lookup 6379: exact output")
    # NAME/PROTO: the name's entries under that protocol, its sockets
    rc, out2, err = run(binary, ["-n", "--lookup", "redis/tcp"])
    ck.eq((rc, err, out2), (0, "", out.replace(
        "    6379/udp    unassigned\n", "")), "--lookup redis/tcp: the "
        "6379 answer without the UDP line")
    rc, out2, err = run(binary, ["-n", "--lookup", "redis/udp"])
    ck.eq((rc, out2, err), (2, "", "portview: --lookup redis/udp: no such "
          "service on that protocol\n"), "--lookup redis/udp: usage error")
    rc, out2, err = run(binary, ["-n", "--lookup", "rediss/tcp"])
    ck.eq((rc, out2, err), (2, "", "portview: --lookup rediss/tcp: unknown "
          "service name; did you mean redis?\n"),
          "--lookup rediss/tcp: a near miss")
    rc, out, err = run(binary, ["--lookup", "50001"])
    ck.ok(rc == 0 and "Ephemeral:  yes (this host's range is 50000-50999)"
          in out and "50001/tcp   unassigned" in out and
          "50001/udp   unassigned" in out, "--lookup 50001: ephemeral, "
          "unassigned", out)
    rc, out, err = run(binary, ["--lookup", "50010/tcp"])
    ck.ok(rc == 0 and "Ephemeral:  no, reserved" in out and
          "50010/udp" not in out, "--lookup 50010/tcp: reserved", out)
    rc, out, err = run(binary, ["-n", "--lookup", "https"])
    ck.ok(rc == 0 and "Port 443" in out and "443/tcp     https  [IANA]" in out
          and "127.0.0.1:50001" in out, "--lookup https", out)

    rc, out, err = run(binary, ["-n", "--lookup", "ssh"])
    ck.ok(rc == 0 and "22/tcp" in out and "unassigned" not in out and
          "127.0.0.1:50999" in out, "--lookup NAME lists only that name's "
          "entries (no 'unassigned')", out)
    rc, out, err = run(binary, ["-n", "--lookup", "0"])
    ck.ok(rc == 0 and "LISTENING" not in out,
          "--lookup 0: listeners' empty foreign port is not port 0", out)
    rc, out, err = run(binary, ["-an", "--port", "8080"],
                       env={"PORTVIEW_DEBUG": "0"})
    ck.eq(err, "", "PORTVIEW_DEBUG=0 is off")

    # Usage errors: exit 2, one line naming the input, no stdout
    bad = [
        (["--lookup", "nosuch"], "portview: --lookup nosuch: unknown service "
         "name"),
        (["--lookup", "70000"], "portview: --lookup 70000: port out of range "
         "(0-65535)"),
        (["--lookup", "80/foo"], "portview: --lookup 80/foo: unknown protocol "
         "(valid: tcp, udp, sctp, dccp)"),
        (["--port", "70000"], "portview: --port 70000: port out of range "
         "(0-65535)"),
        (["--sport", "9-1"], "portview: --sport 9-1: range start is above "
         "its end"),
        (["--dport", "x1"], "portview: --dport x1: unknown service name"),
        (["--port", "80,,443"], "portview: --port 80,,443: empty item in the "
         "list"),
        (["--port", "-5"], "portview: --port -5: not a port, range N-M or "
         "service name"),
        (["--port", ""], "portview: --port '': empty port"),
        (["--class", "foo"], "portview: --class foo: unknown class (valid: "
         "well-known, registered, dynamic, ephemeral)"),
        (["--class", "dynamic,x"], "portview: --class dynamic,x: x: unknown "
         "class (valid: well-known, registered, dynamic, ephemeral)"),
        (["--class", ""], "portview: --class '': empty class name (valid: "
         "well-known, registered, dynamic, ephemeral)"),
    ]
    for args, msg in bad:
        rc, out, err = run(binary, args)
        ck.eq((rc, out, err), (2, "", msg + "\n"), "portview " +
              " ".join(args) + ": exit 2 with one line")

    # /etc/services wins; a custom file renames; hidden: IANA still names 443
    # (a name of its own: other runs, each PID 1 of its namespace, share /tmp)
    fd, svc = tempfile.mkstemp(prefix="pv-services-")
    with os.fdopen(fd, "w") as f:
        f.write("# test\nsecure-web 443/tcp\ngarbage line\n\x01\x02 1/tcp\n" +
                "x" * 100000 + " 9/tcp\nmykv 6379/tcp kv\n")
    try:
        rc, out, err = run(binary, ["-an", "--port", "443,6379"],
                           env={"PORTVIEW_SERVICES": svc})
        ck.ok(rc == 0 and "secure-web well-known" in out and
              "mykv registered" in out and "https" not in out,
              "PORTVIEW_SERVICES entries win over IANA", out + err)
        rc, out, err = run(binary, ["--lookup", "kv"],
                           env={"PORTVIEW_SERVICES": svc})
        ck.ok(rc == 0 and "6379/tcp    mykv (kv)  [/etc/services]" in out,
              "--lookup finds /etc/services aliases", out + err)
    finally:
        os.unlink(svc)
    env = {k: v for k, v in os.environ.items() if k != "PORTVIEW_SERVICES"}
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        "mount --bind /dev/null /etc/services && "
                        "exec \"$0\" -an --port 443", binary],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=20)
    if r.returncode != 0 and b"mount" in r.stderr:
        print("NOTE: cannot hide /etc/services here: %s" % r.stderr.decode())
    else:
        out = r.stdout.decode()
        ck.ok(r.returncode == 0 and "127.0.0.1:443" in out and
              "https well-known" in out,
              "/etc/services hidden (bind /dev/null): 443 is still https",
              out + r.stderr.decode())
    ck.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Network namespaces: -N NS and --all-netns, with the Netns and Unit columns.

The test runs in private network, PID and mount namespaces with a /run/netns
of its own, so that --all-netns sees exactly what it made: its own
namespace (PID 1's, so "host"), two named ones (ip netns add), and one
unnamed one that only a process holds.  Each namespace has a listener on
127.0.0.1:8080 with one connection to it and a UDP socket on port 5353,
held by a process named after the namespace.  One holder sits in a
scratch cgroup named like a Docker container's scope, another in one named
like a systemd service.  The unnamed namespace has a second process, with
a higher PID: its label is pid: and the lowest.  Exits 77 only where
namespaces cannot be made.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HOLDER = r"""
import ctypes, socket, subprocess, sys
if sys.argv[2] == "up":
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
print("ready", flush=True)
sys.stdin.readline()  # moved into its cgroup first: a socket keeps its maker's cgroup
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 8080)); ls.listen()
c = socket.create_connection(("127.0.0.1", 8080)); a, _ = ls.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 5353))
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); e.bind(("127.0.0.1", 50000))
print(c.getsockname()[1], flush=True)
sys.stdin.read()
"""

HEX = "0123456789abcdef" * 4


def cgroup2_root():
    """Where the cgroup v2 hierarchy is mounted, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4]
    return None


def holder_pid(pid, comm):
    """The holder itself: `ip netns exec` runs it as a child of pid."""
    for _ in range(2):
        with open("/proc/%d/comm" % pid) as f:
            if f.read().strip() == comm:
                return pid
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        if not kids:
            break
        pid = int(kids[0])
    return pid


def main():
    common.enter_netns(pidns=True)
    binary = common.require_portview()
    ck = common.Checker()
    if os.getpid() != 1:
        print("SKIP: needs a PID namespace of its own for an exact --all-netns")
        sys.exit(common.SKIP)
    # A /run/netns of this mount namespace only: no other test's names.
    os.makedirs("/run/netns", exist_ok=True)
    common.sh(["mount", "-t", "tmpfs", "pv-netns", "/run/netns"])
    tag = "pvt%d" % random.randrange(10**6)
    names = ["%s-a" % tag, "%s-b" % tag]
    for n in names:
        common.sh(["ip", "netns", "add", n])
        common.sh(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"])
    common.sh(["ip", "netns", "exec", names[1], "sysctl", "-q", "-w",
               "net.ipv4.ip_local_port_range=40000 40099"])

    procs, cgroups, later = {}, [], None
    try:
        def hold(key, prefix, up):
            p = subprocess.Popen(prefix + [sys.executable, "-c", HOLDER, "pv-" + key, up],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            procs[key] = (p, None)
        hold("host", [], "-")
        hold("a", ["ip", "netns", "exec", names[0]], "-")
        hold("b", ["ip", "netns", "exec", names[1]], "-")
        hold("u", ["unshare", "-n"], "up")
        # a second process in u's namespace, with a higher PID: the lowest names it
        upid = holder_pid(procs["u"][0].pid, "pv-u")
        later = subprocess.Popen(["nsenter", "--net=/proc/%d/ns/net" % upid, "sleep", "600"])
        common.wait_until(lambda: os.stat("/proc/%d/ns/net" % later.pid).st_ino ==
                          os.stat("/proc/%d/ns/net" % upid).st_ino,
                          "the second process in u's namespace")

        # Units: a Docker-like scope for a, services for u and host.
        root = cgroup2_root()
        units = {}
        if root and os.access(root, os.W_OK):
            base = os.path.join(root, "%s.slice" % tag)
            for key, leaf, want in (
                    ("a", "docker-%s.scope" % HEX, {"kind": "docker", "name": HEX[:12]}),
                    ("u", "pv-web.service", {"kind": "service", "name": "pv-web.service"}),
                    ("host", "pv-host.service",
                     {"kind": "service", "name": "pv-host.service"})):
                d = os.path.join(base, leaf)
                os.makedirs(d)
                cgroups.append(d)
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(holder_pid(procs[key][0].pid, "pv-" + key)))
                units[key] = want
            cgroups.append(base)
        else:
            print("note: no writable cgroup v2 hierarchy: units from the test's own cgroup")
        for key in procs:
            units.setdefault(key, common.unit_of_pid(holder_pid(procs[key][0].pid, "pv-" + key)))
        for key, (p, _) in list(procs.items()):
            p.stdin.write("go\n")
            p.stdin.flush()
            procs[key] = (p, int(p.stdout.readline()))
        run_checks(ck, binary, names, procs, units)
    finally:
        if later:
            later.kill()
            later.wait()
        for p, _ in procs.values():
            p.stdin.close()
            p.wait()
        for d in cgroups:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)
        for n in names:
            subprocess.run(["ip", "netns", "del", n])
    ck.finish()


def run_checks(ck, binary, names, procs, units):
    pid = {k: holder_pid(procs[k][0].pid, "pv-" + k) for k in procs}
    # the unnamed namespace by its lowest PID, the holder's, not the later process's
    label = {"host": "host", "a": names[0], "b": names[1], "u": "pid:%d" % pid["u"]}
    inode = {"host": os.stat("/proc/self/ns/net").st_ino,
             "a": os.stat("/run/netns/" + names[0]).st_ino,
             "b": os.stat("/run/netns/" + names[1]).st_ino,
             "u": os.stat("/proc/%d/ns/net" % pid["u"]).st_ino}
    order = ["host", names[0], names[1], "u"]

    # The table, in a pipe: every socket once, under its namespace.
    rc, out, err = common.run_portview(["--all-netns", "-anp", "--plain", "-W"], binary)
    ck.eq((rc, err), (0, ""), "--all-netns -anp: exit 0, stderr empty")
    lines = out.splitlines()
    ck.eq(lines[3].split()[:2], ["Netns", "Proto"], "--all-netns: Netns is the first column")
    ck.ok("Unit" in lines[3], "--all-netns: a Unit column", lines[3])
    rows = [ln.split() for ln in lines[4:]]
    want = []
    for k in ("host", "a", "b", "u"):
        unit = units[k]
        ucell = "-" if not unit else (unit["name"] if unit["kind"] in ("service", "scope")
                                      else "%s:%s" % (unit["kind"], unit["name"]))
        prog = "%d/pv-%s" % (pid[k], k)
        c = procs[k][1]
        want += [
            [label[k], "TCP", "127.0.0.1:8080", "0.0.0.0:0", "LISTENING", prog, ucell],
            [label[k], "TCP", "127.0.0.1:8080", "127.0.0.1:%d" % c, "ESTABLISHED", prog, ucell],
            [label[k], "TCP", "127.0.0.1:%d" % c, "127.0.0.1:8080", "ESTABLISHED", prog, ucell],
            [label[k], "UDP", "127.0.0.1:5353", "*:*", prog, ucell],
            [label[k], "UDP", "127.0.0.1:50000", "*:*", prog, ucell],
        ]
    ck.eq(rows, want, "--all-netns -anp: each socket once, under its namespace, "
          "host first, with owner and unit")

    # JSON: the same sockets, each with its namespace's inode and name.
    rc, out, err = common.run_portview(["--all-netns", "-an", "--json"], binary)
    doc = json.loads(out)
    got = sorted(((o["netns"]["inode"], o["netns"]["name"], o["proto"], o["local"]["port"],
                  o["foreign"]["port"], o["owners"][0]["program"],
                  json.dumps(o["unit"], sort_keys=True)) for o in doc), key=repr)
    wantj = []
    for k in ("host", "a", "b", "u"):
        name = names[0] if k == "a" else names[1] if k == "b" else None
        c = procs[k][1]
        for proto, lp, fp in (("tcp", 8080, None), ("tcp", 8080, c), ("tcp", c, 8080),
                              ("udp", 5353, None), ("udp", 50000, None)):
            wantj.append((inode[k], name, proto, lp, fp, "pv-" + k,
                          json.dumps(units[k], sort_keys=True)))
    ck.eq(got, sorted(wantj, key=repr), "--all-netns --json: netns {inode, name} and unit of each")
    # Port 50000 is in the default ephemeral range, not in b's 40000-40099.
    eph = {o["netns"]["name"] or o["netns"]["inode"]: o["local"]["ephemeral"]
           for o in doc if o["local"]["port"] == 50000}
    ck.eq(eph, {inode["host"]: True, names[0]: True, names[1]: False, inode["u"]: True},
          "--all-netns: each namespace's own ephemeral range marks its ports")

    # -N: one namespace, its own port range.
    for spec, k in ((names[1], "b"), ("pid:%d" % pid["u"], "u"),
                    ("/run/netns/" + names[0], "a")):
        rc, out, err = common.run_portview(["-N", spec, "-anp", "--plain"], binary)
        rows = [ln.split() for ln in out.splitlines()[4:]]
        ck.eq((rc, err, sorted(r[-1] for r in rows)), (0, "", ["%d/pv-%s" % (pid[k], k)] * 5),
              "-N %s: exactly that namespace's five sockets" % spec)
    rc, out, err = common.run_portview(["-N", names[1], "--ranges", "-t"], binary)
    ck.ok(rc == 0 and "  TCP    ephemeral      40000  100 " in out,
          "-N %s --ranges: that namespace's ephemeral range" % names[1], out)
    rc, out, err = common.run_portview(["--all-netns", "--ranges", "-t"], binary)
    heads = [ln for ln in out.splitlines() if ln.startswith("Network namespace ")]
    ck.eq(heads, ["Network namespace " + x for x in
                  ("host", names[0], names[1], label["u"])],
          "--all-netns --ranges: a table per namespace, in order")
    ck.ok(out.count("40000  100 ") == 1, "--all-netns --ranges: b's range once", out)

    # --lookup across namespaces: which namespaces use the port.
    rc, out, err = common.run_portview(["--all-netns", "--lookup", "5353", "-n"], binary)
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("  ") and "UDP" in ln]
    ck.eq([r[0] for r in rows], [label[k] for k in ("host", "a", "b", "u")],
          "--all-netns --lookup 5353: one row per namespace")

    # Bad -N: one line, exit 2.
    for spec, why in (("nosuch", "no such network namespace; ip netns list shows the names"),
                      ("pid:999999", "no such process"),
                      ("/etc/passwd", "not a network namespace file"),
                      ("", "empty namespace name")):
        rc, out, err = common.run_portview(["-N", spec], binary)
        shown = spec if spec else "''"
        ck.eq((rc, out, err), (2, "", "portview: -N %s: %s\n" % (shown, why)),
              "-N %r: usage error" % spec)
    rc, out, err = common.run_portview(["--netns", names[0], "--all-netns"], binary)
    ck.eq((rc, err), (2, "portview: --netns cannot be combined with --all-netns\n"),
          "--netns with --all-netns: usage error")
    rc, out, err = common.run_portview(["--unit", "-lnp", "--sport", "8080"], binary)
    ck.ok(rc == 0 and "Unit" in out.splitlines()[3], "--unit alone adds the column", out)

    # Without root the owner is not known; the socket's own cgroup still is.
    if units["host"] and units["host"]["kind"] == "service":
        d, (copy,) = common.public_copy(binary)
        try:
            rc, out, err = common.run_portview(["--unit", "-lno", "--sport", "8080", "--plain"],
                                               copy, user="nobody")
        finally:
            shutil.rmtree(d)
        rows = [ln.split() for ln in out.splitlines()[4:]]
        ck.eq((rc, rows), (0, [["TCP", "127.0.0.1:8080", "0.0.0.0:0", "LISTENING", "?",
                                "pv-host.service"]]),
              "as nobody: --unit names the socket's cgroup though its owner is hidden")


if __name__ == "__main__":
    main()

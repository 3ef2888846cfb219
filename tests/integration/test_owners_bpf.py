#!/usr/bin/env python3
"""Owners from the BPF task_file iterator against the /proc walk.

In a private network and PID namespace, some 3,700 sockets over some
1,000 processes: 1,000 processes with one socket each, two holders with many UDP sockets and TCP connections between
them, a listener shared by a holder and three forked children, a process
whose thread unshared its fd table (unshare(CLONE_FILES)) and opened
sockets only that table holds, and a process whose main thread exited
(its /proc/PID/fd is empty) with three threads sharing the table left.
The iterator's output is larger than the kernel's 32 KiB per read.

- PORTVIEW_OWNERS=bpf and =proc give the same owners (pid, program, fd)
  for every socket, but the ones only the iterator can see: those are
  checked on their own (the right pid, program and fd, each once), and
  the /proc walk must show no owner for them;
- the pids are those of the test's PID namespace, not the host's; in a
  PID namespace nested inside it, those of that namespace;
- PORTVIEW_DEBUG names the path that ran; the default path is the
  iterator for root;
- while processes fork and exit as fast as they can, every run of the
  iterator (15; 5 under ASan) exits 0 and attributes the stable sockets
  right;
- without capabilities (setpriv, as nobody and as root with none) the
  default falls back to the /proc walk and still names the caller's own
  sockets' owners; PORTVIEW_OWNERS=bpf then fails with exit 1 and says
  why; with CAP_BPF and CAP_PERFMON alone (as nobody) the iterator runs
  and sees root's processes too.

The checks come in two parts, two meson tests that run side by side:
`--part world` (it_owners_bpf: the 3,700 sockets, the two paths against
each other, the churn) and `--part small` (it_owners_bpf_small: a
thread's own fd table, the nested PID namespace, the runs without
capabilities), which needs no crowd and so also serves as the quick
killer of the mutants of the iterator's pid, thread and capability rules.

Exits 77 when portview was built without the iterator (meson -Dbpf).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CASES = os.path.join(common.HERE, "owner_cases.py")
USER, GROUP = "nobody", "nogroup"
NOCAPS = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
          "--bounding-set=-all", "--"]


def run(binary, args, mode=None, prefix=(), debug=False):
    env = dict(os.environ)
    env.pop("PORTVIEW_OWNERS", None)
    if mode:
        env["PORTVIEW_OWNERS"] = mode
    if debug:
        env["PORTVIEW_DEBUG"] = "1"
    r = subprocess.run(list(prefix) + [binary] + args, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def owners_by_socket(doc):
    """{(proto, local address and port, foreign address and port, inode):
    [(pid, program, fd)...], or None where owners could not be seen}"""
    out = {}
    for o in doc:
        key = (o["proto"], o["local"]["address"], o["local"]["port"],
               o["foreign"]["address"], o["foreign"]["port"], o["inode"])
        out[key] = (None if o["owners"] is None else
                    [(w["pid"], w["program"], w["fd"]) for w in o["owners"]])
    return out


def udp_port_key(port):
    return lambda k: k[0] == "udp" and k[1] == "127.0.0.1" and k[2] == port


class Case:
    """An owner_cases.py process and what it reported."""

    def __init__(self, mode, count):
        self.proc = subprocess.Popen([sys.executable, CASES, mode, str(count)],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("owner_cases.py %s did not start" % mode)
        self.info = json.loads(line)
        self.pid = self.info["pid"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bpf_usable(binary):
    rc, _, err = run(binary, ["-an", "--json"], mode="bpf")
    if rc == 0:
        return None
    return err.strip() or "exit status %d" % rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("world", "small"), default="world")
    part = ap.parse_args().part
    common.enter_netns()
    binary = common.require_portview()
    why = bpf_usable(binary)
    if why and "built without it" in why:
        print("SKIP: portview was built without the BPF iterator: " + why)
        sys.exit(common.SKIP)
    c = common.Checker()
    c.ok(why is None, "PORTVIEW_OWNERS=bpf works as root", why or "")
    if why:
        c.finish()

    if part == "small":
        check_small(c, binary)
        c.finish()

    w = common.World()
    cases = []
    try:
        # First, so that their pids come first: the iterator's first reads
        # are task records with one fd record each, and at least one read
        # ends on a task record the kernel has to write again.
        crowd = Case("many", 1000)
        cases.append(crowd)
        a = w.holder("pv-many-a")
        b = w.holder("pv-many-b")
        for h in (a, b):
            h.cmd("nofile", 4096)
        w.udp_many(a, "127.0.0.1", 20000, 1200)
        w.udp_many(b, "::1", 20000, 800)
        lst = w.tcp_listen(b, "127.0.0.1", 8080)
        for i in range(300):
            w.tcp_connect(a, "127.0.0.1", 30000 + i, lst, "127.0.0.1")
        # a listener several processes hold
        shared = w.tcp_listen(b, "127.0.0.1", 8081)
        for i in range(3):
            w.fork(b, "pv-fork-%d" % i)
        unshared = Case("unshared", 40)
        cases.append(unshared)
        orphaned = Case("orphaned", 60)
        cases.append(orphaned)
        print("holders %d %d (forks %s), unshared %d, orphaned %d; own PID "
              "namespace: %s" % (a.pid, b.pid, b.children, unshared.pid,
                                 orphaned.pid, common.in_own_pidns()))
        check_paths(c, binary, w, shared, unshared, orphaned, crowd)
        check_churn(c, binary, w)
    finally:
        for k in cases:
            k.stop()
        w.stop()
    c.finish()


def check_paths(c, binary, w, shared, unshared, orphaned, crowd):
    docs = {}
    for mode in ("bpf", "proc"):
        rc, out, err = run(binary, ["-an", "--json"], mode=mode)
        c.eq((rc, err), (0, ""), "PORTVIEW_OWNERS=%s: exit 0, stderr empty"
             % mode)
        docs[mode] = owners_by_socket(json.loads(out))
    bpf, proc = docs["bpf"], docs["proc"]
    c.ok(len(bpf) >= 3700, "at least 3,700 sockets listed (%d)" % len(bpf))
    c.ok(set(bpf) == set(proc), "both paths list the same sockets")

    # What only the iterator sees: the unshared thread's own sockets and
    # every socket of the process whose main thread exited.
    only = {}
    for case in (unshared, orphaned):
        ports = case.info["own"] + (case.info["shared"] if case is orphaned
                                    else [])
        for fd, port in ports:
            keys = [k for k in bpf if udp_port_key(port)(k)]
            c.ok(len(keys) == 1, "%s: the socket on port %d is listed once"
                 % (case.info["comm"], port))
            for k in keys:
                only[k] = [(case.pid, case.info["comm"], fd)]
    bad = {k: (bpf[k], want) for k, want in only.items() if bpf[k] != want}
    c.ok(not bad and len(only) == 100,
         "the iterator names the owner of the %d sockets only it can see "
         "(each once, pid in this namespace, program, fd)" % len(only),
         repr(list(bad.items())[:5]))
    # Since the walk reads threads' own tables too (issue 11), /proc finds them.
    c.ok(all(sorted(proc[k]) == sorted(bpf[k]) for k in only),
         "the /proc walk finds the same owners for them, through the threads' "
         "own tables", repr([(k, proc[k], bpf[k]) for k in only
                             if sorted(proc[k]) != sorted(bpf[k])][:5]))
    # the unshared process's first two sockets are in both of its tables
    for fd, port in unshared.info["shared"]:
        keys = [k for k in bpf if udp_port_key(port)(k)]
        c.ok(len(keys) == 1 and bpf[keys[0]] == [(unshared.pid, "pv-unshared", fd)]
             and proc[keys[0]] == bpf[keys[0]],
             "a socket in both fd tables of one process: one owner, once",
             repr([(bpf.get(k), proc.get(k)) for k in keys]))

    rest = {k: v for k, v in bpf.items() if k not in only}
    diff = [(k, v, proc[k]) for k, v in rest.items() if proc[k] != v]
    c.ok(not diff, "every other socket: the same owners from both paths "
         "(%d sockets)" % len(rest), repr(diff[:5]))

    # the model's owners: pids as this namespace sees them
    got = {k[2]: v for k, v in bpf.items() if k[0] == "udp" and
           k[1] == "127.0.0.1"}
    want = {port: [(pid, "pv-many-child", fd)]
            for pid, fd, port in crowd.info["children"]}
    c.eq({p: got.get(p) for p in want}, want,
         "1,000 processes with one socket each: each its own owner")
    model = {}
    for s in w.socks:
        if s.proto == "UDP" and s.holder is not None:
            model[("udp", common.json_address(s.laddr), s.lport)] = s.owners
    got = {}
    for k, v in bpf.items():
        if (k[0], k[1], k[2]) in model:
            got[(k[0], k[1], k[2])] = {p for p, _, _ in v}
    c.eq(got, model, "the UDP sockets' owners are the holders' pids in this "
         "PID namespace (%d sockets)" % len(model))
    key = [k for k in bpf if k[0] == "tcp" and k[2] == shared.lport and
           k[4] is None]
    c.eq(sorted(p for p, _, _ in bpf[key[0]]) if key else None,
         sorted(shared.owners),
         "a listener held by four processes has four owners")

    # which path ran, and that the output took more than one read
    rc, _, err = run(binary, ["-an", "--json"], debug=True)
    m = re.search(r"owners: bpf iterator: .* (\d+) reads \((\d+) bytes\)", err)
    c.ok(rc == 0 and m is not None,
         "PORTVIEW_DEBUG: root's default path is the iterator", err[-300:])
    if m:
        c.ok(int(m.group(1)) >= 2 and int(m.group(2)) > 32768,
             "the records took %s reads, %s bytes (more than 32 KiB)"
             % (m.group(1), m.group(2)))
    rc, _, err = run(binary, ["-an", "--json"], mode="proc", debug=True)
    c.ok(rc == 0 and "owners: /proc walk" in err and "not tried" in err,
         "PORTVIEW_DEBUG with PORTVIEW_OWNERS=proc: the /proc walk ran",
         err[-300:])


def check_small(c, binary):
    """A thread's own fd table, then the nested PID namespace and the runs
    without capabilities."""
    unshared = Case("unshared", 4)
    try:
        rc, out, err = run(binary, ["-anu", "--json"], mode="bpf")
        c.eq((rc, err), (0, ""), "small: PORTVIEW_OWNERS=bpf: exit 0, "
             "stderr empty")
        bpf = owners_by_socket(json.loads(out)) if rc == 0 else {}
        info = unshared.info
        for what, ports in (("its thread's own table", info["own"]),
                            ("both tables", info["shared"])):
            for fd, port in ports:
                got = [bpf[k] for k in bpf if udp_port_key(port)(k)]
                c.eq(got, [[(unshared.pid, "pv-unshared", fd)]],
                     "pv-unshared: the socket on port %d in %s: listed once, "
                     "owned once by the process (not the thread), fd %d"
                     % (port, what, fd))
        # its sockets are those the nested namespace cannot see the owner of
        check_nested(c, binary)
    finally:
        unshared.stop()
    check_unprivileged(c, binary)


def check_nested(c, binary):
    """portview in a PID namespace inside the test's: pids of that one."""
    r = subprocess.run(["unshare", "-p", "-f", "--mount-proc", "--",
                        sys.executable, CASES, "nested", "5", binary],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if r.returncode != 0:
        c.ok(False, "nested PID namespace: helper ran", r.stderr[-500:])
        return
    info = json.loads(r.stdout)
    c.eq(info["pid"], 1, "nested PID namespace: the helper is its PID 1")
    for mode in ("bpf", "proc"):
        res = info[mode]
        # the iterator, like /proc, sees this PID namespace's tasks only
        c.eq((res["rc"], res["stderr"]), (0, common.NOTE_PIDNS + "\n"),
             "nested, PORTVIEW_OWNERS=%s: exit 0, the note that owners outside "
             "this PID namespace are unknown" % mode)
        doc = owners_by_socket(json.loads(res["stdout"]))
        got = sorted((k[2], tuple(p for p, _, _ in v)) for k, v in doc.items()
                     if k[0] == "udp" and k[2] in info["ports"])
        c.eq(got, sorted((p, (1,)) for p in info["ports"]),
             "nested, PORTVIEW_OWNERS=%s: the helper's sockets are PID 1's"
             % mode)
        others = [k for k, v in doc.items() if v and k[2] not in info["ports"]]
        c.eq(others, [], "nested, PORTVIEW_OWNERS=%s: processes outside the "
             "namespace own nothing visible" % mode)


def check_churn(c, binary, w):
    """Processes exiting while the iterator runs: 15 runs, 5 under ASan
    (a budget: the forking churners take both cores while they last)."""
    runs = 5 if os.environ.get("PORTVIEW_SANITIZED") == "1" else 15
    churners = [Case("churn", 60) for _ in range(2)]
    try:
        stable = {}
        for s in w.socks:
            if s.proto == "UDP" and s.holder is not None:
                stable[(common.json_address(s.laddr), s.lport)] = s.owners
        failures = []
        for i in range(runs):
            rc, out, err = run(binary, ["-an", "--json", "-u"], mode="bpf")
            # A socket whose process exited between the dump and the
            # iterator has an owner out of sight: the note may say so.
            if rc != 0 or err not in ("", common.NOTE_PIDNS + "\n"):
                failures.append("run %d: exit %d, %s" % (i, rc, err.strip()))
                continue
            got = {(o["local"]["address"], o["local"]["port"]):
                   {x["pid"] for x in o["owners"] or []}
                   for o in json.loads(out)}
            wrong = [k for k, v in stable.items() if got.get(k) != v]
            if wrong:
                failures.append("run %d: %d stable sockets wrong, e.g. %r"
                                % (i, len(wrong), wrong[:3]))
    finally:
        for k in churners:
            k.stop()
    c.ok(not failures, "%d iterator runs while processes fork and exit: "
         "exit 0, stable sockets' owners right" % runs, "\n".join(failures[:5]))


def check_unprivileged(c, binary):
    if not shutil.which("setpriv"):
        c.ok(False, "setpriv(1) is there (util-linux)")
        return
    python = common.python_for(USER, GROUP)
    tmp, (pv, cases) = common.public_copy(binary, CASES)
    as_nobody = common.as_user_prefix(USER, GROUP)
    try:
        for name, prefix in (("nobody", as_nobody),
                             ("root without capabilities", NOCAPS)):
            # a process of the same user and capabilities, whose fds the
            # /proc walk may read
            own = subprocess.Popen(prefix + [python, cases, "unshared", "3"],
                                   stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
            try:
                info = json.loads(own.stdout.readline())
                check_unprivileged_runs(c, pv, name, prefix, info)
            finally:
                own.stdin.close()
                own.wait(timeout=10)
        check_bpf_caps(c, pv, as_nobody)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_unprivileged_runs(c, pv, name, prefix, info):
    port = info["shared"][0][1]
    want = [(info["pid"], "pv-unshared", info["shared"][0][0])]
    rc, out, err = run(pv, ["-anu", "--json"], prefix=prefix, debug=True)
    c.ok(rc == 0 and "owners: /proc walk" in err and "not tried" in err,
         "as %s: the default falls back to the /proc walk at once" % name,
         err[-400:])
    doc = owners_by_socket(json.loads(out)) if rc == 0 else {}
    keys = [k for k in doc if udp_port_key(port)(k)]
    c.eq([doc[k] for k in keys], [want],
         "as %s: the owner of a socket of its own process is listed" % name)
    rc, out, err = run(pv, ["-anuo"], mode="bpf", prefix=prefix)
    c.eq((rc, len(out), err.strip()),
         (1, 0, "portview: PORTVIEW_OWNERS=bpf: cannot use the BPF "
          "iterator: Operation not permitted (it needs CAP_BPF and "
          "CAP_PERFMON, or CAP_SYS_ADMIN)"),
         "as %s: PORTVIEW_OWNERS=bpf fails, saying why" % name)


def check_bpf_caps(c, pv, as_nobody):
    """CAP_BPF and CAP_PERFMON without being root: the iterator, which
    sees every process (here: root's holders too)."""
    caps = as_nobody[:-1] + ["--inh-caps=+bpf,+perfmon",
                             "--ambient-caps=+bpf,+perfmon", "--"]
    rc, out, err = run(pv, ["-anu", "--json"], prefix=caps, debug=True)
    c.ok(rc == 0 and "owners: bpf iterator" in err,
         "as nobody with CAP_BPF and CAP_PERFMON: the iterator runs",
         err[-400:])
    rc2, out2, _ = run(pv, ["-anu", "--json"], mode="bpf")
    if rc == 0 and rc2 == 0:
        c.eq(owners_by_socket(json.loads(out)),
             owners_by_socket(json.loads(out2)),
             "as nobody with CAP_BPF and CAP_PERFMON: the same UDP owners as "
             "root's iterator")


if __name__ == "__main__":
    main()

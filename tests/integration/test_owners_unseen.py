#!/usr/bin/env python3
"""Owners portview cannot see are unknown, not absent; owners held by
threads are found.

In a private network namespace (and the tests' own PID namespace), a
holder named pv-root holds a TCP listener, a UDP socket and a connection
to itself; one more connection ends in TIME_WAIT (no owner can exist); a
holder named pv-nobody, run as user nobody, holds a UDP socket.

1. A nested PID namespace sharing the network: portview run under
   `unshare -p -f --mount-proc` sees the sockets but none of their
   processes.  Every held socket's owners must be null in JSON and `?` in
   the table; the TIME_WAIT socket's [] and `-`; the note names the PID
   namespace, once; exit 0.  A socket held by a process inside that
   namespace (the unshared python, PID 1 there) keeps its owner.  Run in
   the test's own namespace, the same portview finds every owner.
2. /proc mounted with hidepid=invisible (in a mount namespace of its
   own): as nobody, root's processes are not even listed, so no fd
   directory fails to open; portview must still say that root's sockets'
   owners are unknown (`?`, null, the hidepid note) and show nobody's.
   As root (CAP_SYS_PTRACE sees through hidepid) every owner is found and
   nothing is noted.
3. A thread that called unshare(CLONE_FILES) and then listened on
   127.0.0.1:7300: the socket is in /proc/PID/task/TID/fd only; a
   process whose main thread has exited while another thread holds
   127.0.0.1:7301: its /proc/PID/fd is empty.  Both must show their
   process as owner, in the table and in JSON (with the fd number), and
   the sockets the unsharing thread's table copied from its process must
   be listed once per descriptor, not once per table.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import copy
import json
import os
import platform
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# A process whose thread unshares its file table and listens on 7300.
UNSHARED = r'''
import ctypes, os, socket, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, ctypes.create_string_buffer(b"pv-unshared"), 0, 0, 0)
shared = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
shared.bind(("127.0.0.1", 7302))
ready = threading.Event()
info = {}
def own_table():
    if libc.unshare(0x400) != 0:           # CLONE_FILES
        info["err"] = ctypes.get_errno()
    else:
        s = socket.socket()
        s.bind(("127.0.0.1", 7300))
        s.listen(8)
        info["fd"], info["tid"], info["s"] = s.fileno(), threading.get_native_id(), s
    ready.set()
    threading.Event().wait()
threading.Thread(target=own_table, daemon=True).start()
ready.wait()
if "err" in info:
    print("err unshare: %d" % info["err"], flush=True)
else:
    print("ready %d %d %d %d" % (os.getpid(), info["tid"], info["fd"],
                                 shared.fileno()), flush=True)
sys.stdin.read()
os._exit(0)
'''

# A process whose main thread exits while another holds 127.0.0.1:7301.
ORPHANED = r'''
import ctypes, os, socket, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, ctypes.create_string_buffer(b"pv-orphaned"), 0, 0, 0)
s = socket.socket()
s.bind(("127.0.0.1", 7301))
s.listen(8)
pid = os.getpid()
def worker():
    path = "/proc/%d/task/%d/stat" % (pid, pid)
    for _ in range(1000):
        with open(path) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    print("ready %d %d" % (pid, s.fileno()), flush=True)
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=worker).start()
libc.syscall(int(sys.argv[1]), 0)           # exit(2): this thread only
'''

SYS_EXIT = {"x86_64": 60, "aarch64": 93, "riscv64": 93, "loongarch64": 93,
            "i686": 1, "i386": 1, "armv7l": 1, "ppc64le": 1, "s390x": 1}


def main():
    common.enter_netns()
    binary = common.require_portview()
    for tool in ("unshare", "setpriv", "mount"):
        if not shutil.which(tool):
            print("SKIP: %s not found" % tool)
            sys.exit(common.SKIP)
    python = common.python_for("nobody", "nogroup")
    if not python:
        print("SKIP: no python3 that user nobody can run")
        sys.exit(common.SKIP)
    tmp, (pv, holder) = common.public_copy(binary, common.HOLDER)
    w = common.World()
    procs = []
    try:
        root = w.holder("pv-root")
        nob = w.holder("pv-nobody", user="nobody", group="nogroup",
                       python=python, script=holder)
        lst = w.tcp_listen(root, "127.0.0.1", 8000)
        w.udp_bind(root, "127.0.0.1", 8001)
        w.tcp_connect(root, "127.0.0.1", 40000, lst, "127.0.0.1")
        w.time_wait(*w.tcp_connect(root, "127.0.0.1", 40001, lst,
                                   "127.0.0.1"))
        w.udp_bind(nob, "127.0.0.1", 9001)
        w.check_kernel()
        ck = common.Checker()
        nested(ck, w, pv)
        hidepid(ck, w, pv, nob.pid)
        threads(ck, w, pv, procs)
        ck.finish()
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=10)
        w.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def unknown(w, seen=()):
    """The model as portview must show it when only processes `seen` are
    visible: other holders' sockets unknown."""
    out = []
    for s in w.socks:
        v = copy.copy(s)
        v.owners = s.owners & set(seen)
        v.unknown = bool(s.owners) and not v.owners
        out.append(v)
    return out


def json_owners(doc):
    return {(o["proto"], o["local"]["port"], o["foreign"]["port"]):
            None if o["owners"] is None else
            sorted(x["pid"] for x in o["owners"]) for o in doc}


def want_owners(socks):
    return {(s.proto.lower(), s.lport, None if s.state in (
        common.LISTEN, common.CLOSE) else s.rport):
            None if getattr(s, "unknown", False) else sorted(s.owners)
            for s in socks}


def run(argv, prefix=()):
    # What /proc shows and hides is the walk's business: as root the BPF
    # iterator would find the owners instead (it_owners_bpf checks that the
    # two agree), so the walk is asked for by name.
    env = dict(os.environ, PORTVIEW_OWNERS="proc")
    r = subprocess.run(list(prefix) + argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def nested(ck, w, pv):
    nest = ["unshare", "-p", "-f", "--mount-proc", "--"]
    model = unknown(w)
    rc, out, err = run([pv, "-ano", "--plain", "-n"], nest)
    ck.eq((rc, err), (0, common.NOTE_PIDNS + "\n"),
          "unshare -p -f --mount-proc portview -ano: exit 0, the PID "
          "namespace note once")
    ck.eq(out, common.render_table(common.select(model, all=True),
                                   owner=True),
          "... '?' for every held socket, '-' for the TIME_WAIT one")
    rc, out, err = run([pv, "--json", "-a"], nest)
    ck.eq((rc, err), (0, common.NOTE_PIDNS + "\n"),
          "unshare -p -f --mount-proc portview --json -a: exit 0, the note")
    ck.eq(json_owners(json.loads(out)), want_owners(model),
          "... owners null for every held socket, [] for TIME_WAIT")
    # Without an owner column: no note (nothing about owners is shown).
    rc, out, err = run([pv, "-an"], nest)
    ck.eq((rc, err), (0, ""), "... -an (no owners asked for): no note")

    # A process inside the nested namespace: its sockets keep their owner.
    inner = ("import json, socket, subprocess, sys\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "s.bind(('127.0.0.1', 7400))\n"
             "r = subprocess.run([sys.argv[1], '--json', '-a', '--port',"
             " '7400,8001'], capture_output=True, text=True)\n"
             "print(json.dumps([r.returncode, r.stderr, s.fileno(),"
             " json.loads(r.stdout)]))\n")
    rc, out, err = run([sys.executable, "-c", inner, pv], nest)
    status, perr, fd, doc = json.loads(out)
    got = {o["local"]["port"]: o["owners"] for o in doc}
    ck.eq((status, perr, got),
          (0, common.NOTE_PIDNS + "\n",
           {7400: [{"pid": 1, "program": os.path.basename(
               sys.executable)[:15], "fd": fd}], 8001: None}),
          "inside the nested namespace: its own process owns 7400 (PID "
          "1 there), pv-root's 8001 is unknown")

    # The test's own namespace shows every process of the network namespace.
    rc, out, err = run([pv, "-ano", "--plain", "-n"])
    ck.eq((rc, err, out),
          (0, "", common.render_table(common.select(w.socks, all=True),
                                      owner=True)),
          "portview -ano in the test's namespace: every owner, no note")


def hidepid(ck, w, pv, nobody_pid):
    mount = "mount -t proc -o hidepid=invisible proc /proc && exec \"$@\""
    prefix = ["unshare", "-m", "--", "sh", "-c", mount, "sh"]
    as_nobody = prefix + common.as_user_prefix("nobody", "nogroup")
    r = subprocess.run(as_nobody + ["ls", "/proc/%d" % w.holders[0].pid],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck.ok(r.returncode != 0, "with hidepid=invisible, nobody cannot see "
          "pv-root's /proc entry")
    model = unknown(w, seen=[nobody_pid])
    rc, out, err = run([pv, "-ano", "--plain", "-n"], as_nobody)
    ck.eq((rc, err), (0, common.NOTE_HIDEPID + "\n"),
          "hidepid=invisible, as nobody: portview -ano: exit 0, the hidepid "
          "note once")
    ck.eq(out, common.render_table(common.select(model, all=True),
                                   owner=True),
          "... '?' for root's sockets, nobody's PID for its own, '-' for "
          "TIME_WAIT")
    rc, out, err = run([pv, "--json", "-a"], as_nobody)
    ck.eq((rc, err, json_owners(json.loads(out))),
          (0, common.NOTE_HIDEPID + "\n", want_owners(model)),
          "... --json: owners null for root's sockets, [] for TIME_WAIT")
    rc, out, err = run([pv, "-ano", "--plain", "-n"], prefix)
    ck.eq((rc, err, out),
          (0, "", common.render_table(common.select(w.socks, all=True),
                                      owner=True)),
          "hidepid=invisible, as root: every owner, no note")


def threads(ck, w, pv, procs):
    sys_exit = SYS_EXIT.get(platform.machine())
    p1 = subprocess.Popen([sys.executable, "-c", UNSHARED],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
    procs.append(p1)
    line = p1.stdout.readline().split()
    ck.eq(line[:1], ["ready"], "a thread unshared its file table and "
          "listens on 127.0.0.1:7300 (%s)" % " ".join(line))
    pid1, tid, fd, shared_fd = (int(x) for x in line[1:5])
    ino = os.stat("/proc/%d/task/%d/fd/%d" % (pid1, tid, fd)).st_ino
    in_main = {os.stat("/proc/%d/fd/%s" % (pid1, f)).st_ino
               for f in os.listdir("/proc/%d/fd" % pid1)}
    ck.ok(ino not in in_main, "7300's socket is not in /proc/%d/fd, only "
          "in /proc/%d/task/%d/fd" % (pid1, pid1, tid))
    orphan = None
    if sys_exit is None:
        print("NOTE: exit(2)'s number unknown on %s: no exited main thread"
              % platform.machine())
    else:
        p2 = subprocess.Popen([sys.executable, "-c", ORPHANED,
                               str(sys_exit)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
        procs.append(p2)
        line = p2.stdout.readline().split()
        ck.eq(line[:1], ["ready"], "a process whose main thread exited "
              "holds 127.0.0.1:7301 (%s)" % " ".join(line))
        orphan = (int(line[1]), int(line[2]))
        ck.eq(os.listdir("/proc/%d/fd" % orphan[0]), [],
              "its /proc/%d/fd is empty" % orphan[0])

    rc, out, err = run([pv, "-ano", "--plain", "-n", "--port",
                        "7300,7301,7302"])
    rows = [line.split() for line in out.splitlines()[4:]]
    want = [["TCP", "127.0.0.1:7300", "0.0.0.0:0", "LISTENING", str(pid1)]]
    if orphan:
        want.append(["TCP", "127.0.0.1:7301", "0.0.0.0:0", "LISTENING",
                     str(orphan[0])])
    want.append(["UDP", "127.0.0.1:7302", "*:*", str(pid1)])
    ck.eq((rc, err, rows), (0, "", want),
          "portview -ano: the unsharing thread's and the orphaned thread's "
          "listeners show their process; 7302 (in both tables) once")
    rc, out, err = run([pv, "--json", "-a", "--port", "7300,7301,7302"])
    got = {o["local"]["port"]: o["owners"] for o in json.loads(out)}
    want = {7300: [{"pid": pid1, "program": "pv-unshared", "fd": fd}],
            7302: [{"pid": pid1, "program": "pv-unshared", "fd": shared_fd}]}
    if orphan:
        want[7301] = [{"pid": orphan[0], "program": "pv-orphaned",
                       "fd": orphan[1]}]
    ck.eq(got, want, "--json: their owners with name and fd; the copied "
          "descriptor once")


if __name__ == "__main__":
    main()

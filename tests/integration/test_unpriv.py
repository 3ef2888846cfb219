#!/usr/bin/env python3
"""portview run by an unprivileged user (nobody).

In a private network namespace, root-owned and nobody-owned holders open
sockets (including one connection between them).  portview run as nobody
must list every socket, attribute nobody's sockets to their PID, show `?`
(unknown) for root's and `-` for the TIME_WAIT one (no owner exists),
exit 0, and print the "could not be identified" note exactly once on
stderr, and only when an owner column was asked for.
"""

import copy
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NOTE = common.NOTE_DENIED + "\n"
USER, GROUP = "nobody", "nogroup"


def main():
    common.enter_netns()
    binary = common.require_portview()
    for tool in ("setpriv",):
        if not shutil.which(tool):
            print("SKIP: %s not found" % tool)
            sys.exit(common.SKIP)
    python = common.python_for(USER, GROUP)
    if not python:
        print("SKIP: no python3 that user nobody can run")
        sys.exit(common.SKIP)
    # Copies in a 0755 directory: the checkout may be unreadable to nobody.
    tmp, (pv, holder) = common.public_copy(binary, common.HOLDER)
    w = common.World()
    try:
        root = w.holder("pv-root")
        nob = w.holder("pv-nobody", user=USER, group=GROUP, python=python,
                       script=holder)
        w.tcp_listen(root, "127.0.0.1", 8000)
        w.udp_bind(root, "127.0.0.1", 8001)
        w.udp_connect(root, "::1", 8002, "::1", 8003)
        nl = w.tcp_listen(nob, "127.0.0.1", 9000)
        w.udp_bind(nob, "::1", 9001)
        w.udp_connect(nob, "127.0.0.1", 9002, "127.0.0.1", 9003)
        # root's client, nobody's accepted socket.
        w.tcp_connect(root, "127.0.0.1", 8100, nl, "127.0.0.1")
        # An ownerless TIME_WAIT row as well.
        w.time_wait(*w.tcp_connect(nob, "127.0.0.1", 9100, nl, "127.0.0.1"))
        w.check_kernel()
        print("root holder %d, nobody holder %d, own PID namespace: %s"
              % (root.pid, nob.pid, common.in_own_pidns()))
        check(w, pv, binary, nob.pid)
    finally:
        w.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def check(w, pv, binary, nobody_pid):
    c = common.Checker()
    # What nobody can see: only owners among nobody's own processes.
    visible = []
    for s in w.socks:
        v = copy.copy(s)
        v.owners = s.owners & {nobody_pid}
        v.unknown = bool(s.owners) and not v.owners  # root's: unknown
        visible.append(v)

    r = subprocess.run(common.as_user_prefix(USER, GROUP) +
                       ["sh", "-c", "ls /proc/1/fd >/dev/null"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c.ok(r.returncode != 0, "nobody cannot list /proc/1/fd (root's fds)")

    cases = [  # argv, selection, owner, program, note expected
        (["-ano"], {"all": True}, True, False, True),
        (["-anp"], {"all": True}, False, True, True),
        (["-aop"], {"all": True}, True, True, True),
        (["-no"], {}, True, False, True),
        (["-lo"], {"listening": True}, True, False, True),
        (["-an"], {"all": True}, False, False, False),
        ([], {}, False, False, False),
        (["-l"], {"listening": True}, False, False, False),
    ]
    for argv, sel, owner, program, note in cases:
        rows = common.select(visible, **sel)
        want = common.render_table(rows, w.comms, owner, program)
        rc, out, err = common.run_portview(argv, pv, user=USER, group=GROUP, plain=True)
        name = "as nobody: portview %s" % " ".join(argv)
        c.eq(rc, 0, name + ": exit status 0")
        c.eq(err, NOTE if note else "",
             name + (": note printed exactly once" if note
                     else ": stderr empty (no owner column)"))
        c.eq(out, want, name + ": stdout (%d rows)" % len(rows))
    # The note and the rows for a socket owned by nobody: pid shown.
    rc, out, _ = common.run_portview(["-ano"], pv, user=USER, group=GROUP, plain=True)
    c.ok(any(l.split()[1:2] == ["127.0.0.1:9000"] and
             l.split()[-1] == str(nobody_pid) for l in out.splitlines()),
         "nobody's listener 127.0.0.1:9000 shows PID %d" % nobody_pid)
    c.ok(any(l.split()[1:2] == ["127.0.0.1:8000"] and
             l.split()[-1] == "?" for l in out.splitlines()),
         "root's listener 127.0.0.1:8000 shows '?' (unknown)")
    c.ok(any(l.split()[3:4] == ["TIME_WAIT"] and l.split()[-1] == "-"
             for l in out.splitlines()),
         "the TIME_WAIT socket shows '-' (no owner exists)")

    # root sees every owner and gets no note.
    for argv, owner, program in ((["-ano"], True, False),
                                 (["-anp"], False, True)):
        want = common.render_table(common.select(w.socks, all=True),
                                   w.comms, owner, program)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "as root: portview %s" % " ".join(argv)
        c.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        c.eq(out, want, name + ": stdout, all owners known")
    c.finish()


if __name__ == "__main__":
    main()

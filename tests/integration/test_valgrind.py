#!/usr/bin/env python3
"""valgrind memcheck over real runs: no invalid access, no leak.

In a private network namespace with sockets of every kind (a bound one
that never listens, a dual-stack listener, one bound to lo included), each mode of
portview runs under memcheck; any error or definite/indirect leak fails,
and so does an exit status other than 0 for a valid invocation (with
output and an empty stderr) or 2 for a usage error (with no output).
The owners come from the BPF iterator (root's default), and once each
forced either way (PORTVIEW_OWNERS).
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (arguments, exit status): valid invocations must succeed, usage errors
# exit 2, a destination above --fail-on-pressure 3.
RUNS = [
    (["-ano"], 0), (["-anope", "--sort", "program"], 0), (["-a"], 0),
    (["--json", "-a"], 0), (["--ranges"], 0), (["--ranges", "--json"], 0),
    (["--lookup", "8080"], 0), (["--lookup", "https"], 0),
    (["-an", "--port", "8080,https", "--class", "ephemeral,well-known"], 0),
    (["-ane"], 0), (["-an", "--state", "bound"], 0), (["-ln4"], 0),
    (["-ano", "--dev", "lo"], 0), (["--json", "-a", "--dev", "1"], 0),
    (["--state", "bogus"], 2), (["--port", "99999"], 2), (["--bogus"], 2),
    (["-s"], 0), (["-s", "--json"], 0), (["--metrics"], 0),
    (["-s", "--fail-on-pressure", "0"], 3), (["--fail-on-pressure", "x"], 2),
    (["-ano"], 0, "bpf"), (["--json", "-a"], 0, "proc"),
    (["--dev", "nosuch"], 2),
    (["-anoi", "0.1", "--count", "3"], 0),
    (["-ani", "--json", "0.1", "--count", "3"], 0),
]

def main():
    common.enter_netns()
    binary = common.require_portview()
    if os.environ.get("PORTVIEW_SANITIZED") == "1":
        print("SKIP: a sanitizer build does not run under valgrind")
        sys.exit(77)
    if not shutil.which("valgrind"):
        print("SKIP: valgrind not installed")
        sys.exit(77)
    w = common.World()
    h = w.holder("pv-\x1bholder")
    try:
        l1 = w.tcp_listen(h, "127.0.0.1", 8080)
        l2 = w.tcp_listen(h, "::", 443, v6only=0)
        w.tcp_bind(h, "127.0.0.1", 7200)
        w.udp_bind(h, "0.0.0.0", 9997, dev="lo")
        w.udp_bind(h, "0.0.0.0", 5353)
        w.udp_connect(h, "::1", 6000, "::1", 6001)
        w.tcp_connect(h, "127.0.0.1", 40000, l1, "127.0.0.1")
        w.tcp_connect(h, "127.0.0.1", 40001, l2, "127.0.0.1")
        w.time_wait(*w.tcp_connect(h, "127.0.0.1", 40002, l1, "127.0.0.1"))
        ck = common.Checker()
        # And where owners are unknown: a nested PID namespace's /proc.
        nested = ["unshare", "-p", "-f", "--mount-proc", "--"]
        for prefix, run in [([], r) for r in RUNS] + [
                (nested, (["-ano"], 0)), (nested, (["--json", "-a"], 0))]:
            args, status = run[:2]
            env = dict(os.environ)
            env.pop("PORTVIEW_OWNERS", None)
            if len(run) == 3:
                env["PORTVIEW_OWNERS"] = run[2]
            r = subprocess.run(prefix + common.VALGRIND + [binary] + args,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                env=env)
            err = common.UNHANDLED_BPF.sub("", r.stderr.decode("utf-8", "replace"))
            if prefix:
                ck.eq(err, common.NOTE_PIDNS + "\n", "unshare -p: the note")
                err = ""
            name = "valgrind %sportview %s%s" % (
                "PORTVIEW_OWNERS=%s " % run[2] if len(run) == 3 else "",
                " ".join(args), " (nested PID namespace)" if prefix else "")
            ck.ok(r.returncode == status and "==" not in err,
                  "%s: exit %d, no error or leak" % (name, status),
                  "exit %d\n%s" % (r.returncode, err))
            if status == 0:
                ck.ok(r.stdout.strip() != b"" and err == "",
                      "%s: output, stderr empty" % name,
                      "stdout %r\nstderr %r" % (r.stdout[:200], err))
            elif status == 3:
                ck.ok(r.stdout.strip() != b"" and err.count("\n") == 1,
                      "%s: output, one line on stderr" % name,
                      "stdout %r\nstderr %r" % (r.stdout[:200], err))
            else:
                ck.eq(r.stdout, b"", "%s: nothing on stdout" % name)
        ck.finish()
    finally:
        w.stop()


if __name__ == "__main__":
    main()

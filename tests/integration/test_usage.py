#!/usr/bin/env python3
"""Command-line contract of portview: usage errors, --help, --version, and
writing into a pipe that is closed early (`portview -ano | head -1`).

Needs no namespace or root: the pipe test binds its 4000 UDP sockets to
ephemeral ports on 127.0.0.1.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

LONG_OPTIONS = ["--all", "--listening", "--tcp", "--udp", "--ipv4", "--ipv6",
                "--owner", "--program", "--numeric", "--state", "--help",
                "--version"]
# What --state help and a bad --state list.
STATE_LIST = ("established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, "
              "time-wait, close, close-wait, last-ack, listening, closing, "
              "bound; groups: all, connected, synchronized, bucket, big")
# The names the spec lists for --state.
STATE_NAMES = ["established", "estab", "syn_sent", "syn_recv", "syn_received",
               "fin_wait1", "fin_wait_1", "fin_wait2", "fin_wait_2",
               "time_wait", "close", "closed", "unconn", "close_wait",
               "last_ack", "listen", "listening", "closing", "all",
               "connected", "synchronized", "bucket", "big"]


def usage_error(c, pv, argv, first_line=None, prefix=None, more_lines=None):
    """portview argv must fail with status 2, no stdout, and stderr whose
    first line is first_line (or starts with prefix)."""
    rc, out, err = common.run_portview(argv, pv)
    name = "portview %s" % " ".join(repr(a) if a == "" or " " in a else a
                                    for a in argv)
    c.eq(rc, 2, name + ": exit status 2")
    c.eq(out, "", name + ": nothing on stdout")
    lines = err.splitlines()
    c.ok(err.endswith("\n"), name + ": stderr ends with a newline",
         "stderr: %r" % err)
    first = lines[0] if lines else ""
    if first_line is not None:
        c.eq(first, first_line, name + ": first stderr line")
    if prefix is not None:
        c.ok(first.startswith(prefix), name + ": stderr starts with %r"
             % prefix, "stderr: %r" % err)
    if more_lines is not None:
        c.ok(more_lines(lines[1:]), name + ": rest of stderr",
             "stderr: %r" % err)
    return err


def main():
    pv = common.require_portview()
    c = common.Checker()

    # --- --state -----------------------------------------------------------
    # The whole message, exactly, for each kind of bad value.
    # The states and groups, not a pointer elsewhere (ss's synonyms left out).
    def state_error(argv, value, what, opt="--state "):
        usage_error(c, pv, argv, first_line="portview: %s%s: %s (valid: %s)"
                    % (opt, value, what, STATE_LIST),
                    more_lines=lambda rest: rest == [])
    state_error(["--state", "FOO"], "FOO", "unknown state")
    # Printed as the user typed it (case kept), also with '=' syntax.
    state_error(["--state", "Bogus-Name"], "Bogus-Name", "unknown state")
    state_error(["--state=nope"], "nope", "unknown state", opt="--state=")
    state_error(["--state", ""], "''", "empty state name")
    state_error(["--state", "estab,FOO"], "estab,FOO: FOO", "unknown state")
    state_error(["--state", "estab,,listen"], "estab,,listen",
                "empty state name")
    # The bad one of two --state options.
    state_error(["--state", "estab", "--state", "FOO"], "FOO",
                "unknown state")
    usage_error(c, pv, ["--state"],
                first_line="portview: option '--state' requires an argument",
                more_lines=lambda rest: len(rest) >= 1 and
                any("portview" in r for r in rest))

    # Every name --help offers is accepted, and so is every name the spec
    # documents, in any case and with '-' or '_': exit 0, nothing on
    # stderr, a table on stdout.
    rc, help_out, _ = common.run_portview(["--help"], pv)
    para = help_out[help_out.index("\nStates: ") + 9:]
    para = para[:para.index("\n\n")]
    offered = [w.strip(" .;") for w in
               re.sub(r"\s+", " ", para).replace("groups:", ",")
               .replace("and ss's spellings (", ",").replace("...)", "")
               .split(",")]
    offered = [w for w in offered if w]
    c.ok(len(offered) >= 16, "--help's States paragraph lists the names",
         repr(offered))
    listed = common.STATE_VALID.split(", ") + offered
    canon = {n.replace("-", "_") for n in listed}
    c.eq([n for n in STATE_NAMES if n not in canon], [],
         "the valid list names every documented state and group")
    names = sorted(set(listed) | set(STATE_NAMES) |
                   {n.upper().replace("_", "-") for n in STATE_NAMES})
    bad = []
    for n in names:
        rc, out, err = common.run_portview(["--state", n, "-n"], pv)
        if (rc, err) != (0, "") or not out.startswith(
                "\nActive Connections\n\n  Proto "):
            bad.append((n, rc, err, out[:40]))
    c.eq(bad, [], "--state NAME for the %d spellings: exit 0, stderr "
         "empty, a table" % len(names))

    # --- unknown options / arguments ------------------------------------
    def has_usage(rest):
        return len(rest) >= 1 and any("portview" in r for r in rest)

    usage_error(c, pv, ["--bogus"],
                first_line="portview: unrecognized option '--bogus'",
                more_lines=has_usage)
    x_hint = ("; portview lists TCP and UDP sockets, not UNIX ones (ss -x "
              "lists those)")
    usage_error(c, pv, ["-x"],
                first_line="portview: invalid option -- 'x'" + x_hint,
                more_lines=has_usage)
    usage_error(c, pv, ["-anx"],
                first_line="portview: invalid option -- 'x'" + x_hint,
                more_lines=has_usage)
    usage_error(c, pv, ["-a", "--bogus", "-n"],
                first_line="portview: unrecognized option '--bogus'",
                more_lines=has_usage)
    # A long option that takes no argument, given one: the message must
    # name the option the user typed, not an unrelated short option.
    for opt, short in (("--all=1", "a"), ("--version=2", "V")):
        err = usage_error(c, pv, [opt], prefix="portview: ",
                          more_lines=has_usage)
        first = err.splitlines()[0] if err else ""
        c.ok(opt.split("=")[0] in first and
             "invalid option -- '%s'" % short not in first,
             "%s: message names %s" % (opt, opt.split("=")[0]),
             "first stderr line: %r" % first)
    usage_error(c, pv, ["foo"],
                first_line="portview: unexpected argument 'foo'")
    usage_error(c, pv, ["-ano", "foo"],
                first_line="portview: unexpected argument 'foo'")
    usage_error(c, pv, ["-an", "--", "bar"],
                first_line="portview: unexpected argument 'bar'")

    # --- --help / --version ---------------------------------------------
    outs = []
    for argv in (["--help"], ["-h"]):
        rc, out, err = common.run_portview(argv, pv)
        name = "portview " + argv[0]
        c.eq(rc, 0, name + ": exit status 0")
        c.eq(err, "", name + ": stderr empty")
        missing = [o for o in LONG_OPTIONS if o not in out]
        c.eq(missing, [], name + ": mentions every long option")
        c.ok("Active Connections" not in out, name + ": prints no table")
        wide = [ln for ln in out.splitlines() if len(ln) > 80]
        c.eq(wide, [], name + ": no line wider than 80 columns")
        c.eq([h for h in ("Which sockets", "Columns:", "Output:",
                          "Other modes:") if "\n" + h not in out], [],
             name + ": grouped: selection, columns, output, modes")
        c.ok("PORTVIEW_" not in out, name + ": no test switches "
             "(PORTVIEW_DUMP and the like are for the man page)")
        outs.append(out)
    c.eq(outs[1], outs[0], "-h prints the same as --help")
    for argv in (["-V"], ["--version"]):
        rc, out, err = common.run_portview(argv, pv)
        name = "portview " + argv[0]
        c.eq(rc, 0, name + ": exit status 0")
        lines = out.split("\n")
        c.eq(lines[0], "portview 0.1.0", name + ": the version first")
        c.ok(len(lines) == 4 and lines[1].startswith("built with: ") and "c-ares" in lines[1]
             and lines[2].startswith("IANA port registry: 20") and lines[3] == "",
             name + ": the features built in, the registry's date", out)
        c.eq(err, "", name + ": stderr empty")

    check_pipe(c, pv)
    c.finish()


def check_pipe(c, pv):
    """`portview -ano | head -1` with output far larger than a pipe."""
    opts = "-ano"
    if os.geteuid() != 0:
        # Not root: -o would legitimately add the "could not be identified"
        # note on stderr.
        opts = "-an"
        print("NOTE: not root: pipe test uses -an instead of -ano")
    # 4 x 1000 sockets: fits the usual default limit of 1024 open files.
    holders = [common.Holder("pv-many") for _ in range(4)]
    try:
        for h in holders:
            h.cmd("udp_many", "127.0.0.1", 0, 1000)
        rc, full, err = common.run_portview([opts], pv)
        c.eq((rc, err), (0, ""), "portview %s with 4000 sockets: ok" % opts)
        c.ok(len(full) > 2 * 65536 and full.count("\n") >= 4004,
             "output (%d bytes, %d lines) is much larger than a pipe buffer"
             % (len(full), full.count("\n")))

        # A real shell pipeline, SIGPIPE at its default as a shell leaves it.
        r = subprocess.run(
            ["bash", "-c", '"$0" "$1" | head -1; '
             'echo "status=${PIPESTATUS[0]}"', pv, opts],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=20)
        c.eq(r.stdout, "\nstatus=0\n",
             "portview %s | head -1: first line is empty, portview exits 0"
             % opts)
        c.eq(r.stderr, "", "portview %s | head -1: stderr empty" % opts)

        # The same by hand: read one line, close the pipe, keep reading
        # stderr.  Repeat to catch a close during different writes.
        for i in range(5):
            p = subprocess.Popen([pv, opts], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            line = p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read()
            rc = p.wait(timeout=20)
            c.eq((line, rc, err), (b"\n", 0, b""),
                 "run %d: early-closed pipe: (first line, exit, stderr)"
                 % (i + 1))
    finally:
        for h in holders:
            h.stop()


if __name__ == "__main__":
    main()

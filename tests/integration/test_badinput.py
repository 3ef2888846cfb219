#!/usr/bin/env python3
"""Bad input of every kind: option values, options, environment, /proc
entries that vanish, a closed output pipe and an unprivileged user.

1. Table-driven usage errors.  Every option that takes a value (--state,
   --port, --sport, --dport, --class, --sort, --color=, --lookup) gets empty,
   negative, overflowing, out-of-range, junk, unknown, control-byte and
   100 KB values; then unknown options, an unexpected argument, a missing
   option argument, --json/--ranges with --lookup.  Each must exit 2, print
   nothing on stdout (they run with -ano while sockets exist, so a partial
   table would show), and print exactly one line on stderr, the exact
   message, naming the option and the input with control bytes escaped as
   \\xNN.  getopt-level errors (unknown option, missing argument, unexpected
   argument) may follow their first line with the usage synopsis: only the
   first line is compared there, but no stderr line may hold a raw control
   byte.
2. PORTVIEW_SERVICES missing and full of garbage (random bytes with NULs,
   a 100 KB line, lines that would rename port 443 if they were not
   malformed): exit 0, empty stderr, 443 still named https, output equal to
   the built-in registry's (PORTVIEW_SERVICES=/dev/null).
3. /proc entries vanishing mid-walk: 30 runs of `portview -ano` while a
   loop forks short-lived processes that each open sockets and exit at
   once: exit 0, empty stderr, every data row well-formed.
4. `portview -ano | head -c 1` with ~3,000 sockets: exit 0, empty stderr.
5. Run as nobody: exit 0 and the one-line "could not be identified" note.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import concurrent.futures
import grp
import os
import pwd
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NOTE = (b"portview: owners of other users' sockets could not be identified "
        b"(run as root to see them all)\n")
# What --state with a bad word lists: the states and the groups.
STATE_NAMES = ("established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, "
               "time-wait, close, close-wait, last-ack, listening, closing, "
               "bound; groups: all, connected, synchronized, bucket, big")
STATE_HINT = " (valid: %s)" % STATE_NAMES
CLASS_VALID = "well-known, registered, dynamic, ephemeral"
SORT_VALID = ("proto, local, foreign, state, pid, program, port, rate; a "
              "comma list; a leading - reverses a key")
PROTO_VALID = "tcp, udp, sctp, dccp"

NOT_PORT = "not a port, range N-M or service name"
RANGE = "port out of range (0-65535)"
UNKNOWN_SVC = "unknown service name"
LOOKUP_NOT = "not a port, PORT/PROTO or service name"

NOT_SECONDS = "not a number of seconds (such as 5 or 0.5)"
EVENTS_ONLY = ("it prints a line per change as it comes (the filters, -N, "
               "--all-netns, -H, --plain, -i, --json, --interval and --count "
               "apply)")
SUMMARY_ONLY = ("it prints counts, not a table (the selection options narrow "
                "what it counts)")
RANGES_ONLY = ("it counts every socket in the ranges (only -t, -u and --json "
               "apply)")
LOOKUP_ONLY = ("it lists every socket on the port (-t, -u, -4, -6, --src, "
               "--dst, --pid and --command narrow it)")

LONG = 100 * 1024
ESC = b"\x1b[2J"


# ---------------------------------------------------------------------------
# helpers

def esc(b):
    """A value as an error message echoes it: escaped, cut after 64."""
    return common.echo(b)


def shown(b):
    """A value as portview quotes it after the option name: '' when empty."""
    return esc(b) if b else "''"


def raw_control(data):
    """The first raw control byte (other than newline) or undecodable byte
    in data, as a description, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "invalid UTF-8 at byte %d" % e.start
    for i, ch in enumerate(text):
        o = ord(ch)
        if ch != "\n" and (o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f):
            return "raw U+%04X at character %d" % (o, i)
    return None


def run(argv, binary, env=None, user=None, timeout=30):
    """Run portview; returns (rc, stdout bytes, stderr bytes)."""
    full = [os.fsencode(binary)] + [a if isinstance(a, bytes)
                                    else os.fsencode(a) for a in argv]
    if user:
        full = [os.fsencode(a) for a in common.as_user_prefix(*user)] + full
    e = dict(os.environ)
    e.pop("PORTVIEW_DEBUG", None)
    e.update(env or {})
    r = subprocess.run(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def short(b, n=70):
    r = repr(b)
    return r if len(r) <= n else r[:n] + "...(%d bytes)" % len(b)


def argv_name(argv):
    return "portview " + " ".join(short(a, 40) if isinstance(a, bytes)
                                  else a for a in argv)


# ---------------------------------------------------------------------------
# 1. usage errors

def value_cases():
    """(argv, expected first stderr line, one_line) for bad option values."""
    cases = []
    A = b"A" * LONG
    DIGITS = b"9" * LONG
    ESCLONG = ESC * (LONG // len(ESC))

    # --state: the value, then the item at fault when it is a list.
    # A near miss gets its meaning; anything else the states and groups
    # (ss's synonyms left out), not a pointer elsewhere.
    def state(v, msg=None, item=None, tail=STATE_HINT):
        if msg is None:
            mid = "" if item is None else esc(item) + ": "
            msg = "%s: %sunknown state" % (esc(v), mid)
        cases.append(([b"--state", v],
                      "portview: --state %s%s" % (msg, tail), True))
    state(b"", "'': empty state name")
    state(b"estab,,listen", "estab,,listen: empty state name")
    for v in (b"-1", b"99999999999999999999", b"65536",
              b"nosuchstate", ESC, b"a\\b\x7f\xff\xc2\x9b", A, ESCLONG):
        state(v)
    state(b"est@b!", tail="; did you mean estab?")
    state(b"ESTABLISHD", tail="; did you mean established?")
    state(b"listen,tim-wait", item=b"tim-wait",
          tail="; did you mean time-wait?")
    # In a list, the whole value and then the item at fault, as the man
    # page's DIAGNOSTICS show for --port.
    state(b"estab," + ESC, item=ESC)

    # --port, --sport, --dport
    for opt in (b"--port", b"--sport", b"--dport"):
        o = opt.decode()

        def port(v, why, item=None):
            mid = "" if item is None else esc(item) + ": "
            cases.append(([opt, v], "portview: %s %s: %s%s"
                          % (o, shown(v), mid, why), True))
        port(b"", "empty port")
        port(b"-1", NOT_PORT)
        port(b"99999999999999999999", RANGE)
        port(b"65536", RANGE)
        port(b"1-65536", RANGE)
        port(b"9-1", "range start is above its end")
        port(b"8x", NOT_PORT)
        port(b"80-", NOT_PORT)
        port(b"nosuchservice", UNKNOWN_SVC)
        port(b"htp", UNKNOWN_SVC + "; did you mean http?")
        port(b"80,sshh", UNKNOWN_SVC + "; did you mean ssh?", item=b"sshh")
        port(ESC, NOT_PORT)
        port(b"80," + ESC, NOT_PORT, item=ESC)
        port(b"80,,443", "empty item in the list")
        port(A, UNKNOWN_SVC)
        port(DIGITS, RANGE)
        port(ESCLONG, NOT_PORT)

    # --class
    def klass(v, msg):
        cases.append(([b"--class", v], "portview: --class %s (valid: %s)"
                      % (msg, CLASS_VALID), True))
    klass(b"", "'': empty class name")
    for v in (b"-1", b"99999999999999999999", b"65536",
              b"nosuchclass", ESC, A, ESCLONG):
        klass(v, "%s: unknown class" % esc(v))
    cases.append(([b"--class", b"dyn@mic!"], "portview: --class dyn@mic!: "
                  "unknown class; did you mean dynamic?", True))
    klass(b"dynamic," + ESC, "%s: %s: unknown class"
          % (esc(b"dynamic," + ESC), esc(ESC)))

    # --sort
    for v in (b"-1", b"99999999999999999999", b"65536",
              b"nosuchkey", b"-", ESC, b"-" + ESC, A, ESCLONG):
        cases.append(([b"--sort", v], "portview: --sort %s: unknown sort key "
                      "(valid: %s)" % (shown(v), SORT_VALID), True))
    for v, item, why in (
            (b"", None, "empty sort key"),
            (b"state,,port", b"", "empty sort key"),
            (b"p@rt!", None, "unknown sort key; did you mean port?"),
            (b"state,-prot", b"-prot", "unknown sort key; did you mean proto?"),
            (b"port,state,pid,local,foreign", b"foreign",
             "too many sort keys (at most 4)")):
        mid = "" if not item else esc(item) + ": "
        tail = "" if "?" in why or "many" in why else " (valid: %s)" % SORT_VALID
        cases.append(([b"--sort", v], "portview: --sort %s: %s%s%s"
                      % (shown(v), mid, why, tail), True))

    # --color=WHEN (the value is joined to the option: shown right after =)
    for v in (b"", b"-1", b"99999999999999999999", b"65536", b"alw@ys!",
              b"sometimes", ESC, A, ESCLONG):
        cases.append(([b"--color=" + v], "portview: --color=%s: expected "
                      "auto, always or never" % esc(v), True))

    # --lookup
    def lookup(v, why):
        cases.append(([b"--lookup", v], "portview: --lookup %s: %s"
                      % (shown(v), why), True))
    lookup(b"", "empty port or service name")
    lookup(b"-1", UNKNOWN_SVC)
    lookup(b"99999999999999999999", RANGE)
    lookup(b"65536", RANGE)
    lookup(b"80x", LOOKUP_NOT)
    lookup(b"80/foo", "unknown protocol (valid: %s)" % PROTO_VALID)
    lookup(b"80/" + ESC, "unknown protocol (valid: %s)" % PROTO_VALID)
    lookup(b"nosuchservice", UNKNOWN_SVC)
    lookup(ESC, UNKNOWN_SVC)
    lookup(A, UNKNOWN_SVC)
    lookup(DIGITS, RANGE)
    lookup(ESCLONG, UNKNOWN_SVC)

    # the interval: a trailing number (named "interval"), or --interval
    def seconds(v, why):
        cases.append(([v], "portview: interval %s: %s" % (esc(v), why), True))
        cases.append(([b"--interval", v], "portview: --interval %s: %s"
                      % (shown(v), why), True))
    seconds(b"0", "shorter than 0.1 seconds")
    seconds(b"0.05", "shorter than 0.1 seconds")
    seconds(b"5x", NOT_SECONDS)
    seconds(b"5.", NOT_SECONDS)
    seconds(b"1.2.3", NOT_SECONDS)
    seconds(b".5" + ESC, NOT_SECONDS)
    seconds(b"1.2345", "more than 3 decimals (milliseconds are the finest)")
    seconds(b"86400.001", "longer than a day (86400 seconds)")
    seconds(DIGITS, "longer than a day (86400 seconds)")
    for v in (b"", b"-1", b"abc", ESC, A):
        cases.append(([b"--interval", v], "portview: --interval %s: %s"
                      % (shown(v), NOT_SECONDS), True))

    # --count
    for v, why in ((b"", "not a count (a whole number, 1 or more)"),
                   (b"0", "not a count (a whole number, 1 or more)"),
                   (b"-1", "not a count (a whole number, 1 or more)"),
                   (b"2.5", "not a count (a whole number, 1 or more)"),
                   (ESC, "not a count (a whole number, 1 or more)"),
                   (b"4294967296", "too many (at most 4294967295)"),
                   (DIGITS, "too many (at most 4294967295)")):
        cases.append(([b"-c", b"--count", v], "portview: --count %s: %s"
                      % (shown(v), why), True))
    return cases


def option_cases():
    """(argv, expected first stderr line, one_line) for option errors."""
    cases = []
    for opt in ("--state", "--port", "--sport", "--dport", "--class",
                "--sort", "--lookup", "--interval", "--count"):
        cases.append(([opt.encode()], "portview: option '%s' requires an "
                      "argument" % opt, False))
    for argv, first in (
            ([b"--bogus"], "portview: unrecognized option '--bogus'"),
            ([b"--" + ESC], "portview: unrecognized option '--%s'" % esc(ESC)),
            ([b"--" + b"x" * LONG], "portview: unrecognized option '--%s...'"
             % ("x" * 62)),
            # a near miss among the long options, or the ones it could be
            ([b"--sate", b"listen"], "portview: unrecognized option '--sate'; "
             "did you mean --state?"),
            ([b"--no-loopbak"], "portview: unrecognized option "
             "'--no-loopbak'; did you mean --no-loopback?"),
            ([b"--s", b"x"], "portview: unrecognized option '--s'; it could "
             "be --state, --sport, --src, --sort, --summary"),
            # ss's words and Windows netstat's -p PROTO
            ([b"state", b"established"], "portview: unexpected argument "
             "'state'; ss's 'state' is --state here: write --state "
             "established"),
            ([b"sport", b"=", b":ssh"], "portview: unexpected argument "
             "'sport'; ss's 'sport' is --sport here: write --sport ssh"),
            ([b"dport", b":443"], "portview: unexpected argument 'dport'; "
             "ss's 'dport' is --dport here: write --dport 443"),
            ([b"dst", b"10.0.0.0/8"], "portview: unexpected argument 'dst'; "
             "ss's 'dst' is --dst here: write --dst 10.0.0.0/8"),
            ([b"src"], "portview: unexpected argument 'src'; ss's 'src' is "
             "--src here: write --src ADDR"),
            ([b"-p", b"tcp"], "portview: unexpected argument 'tcp'; for TCP "
             "sockets write -t (-p shows programs here)"),
            ([b"-op", b"UDP"], "portview: unexpected argument 'UDP'; for UDP "
             "sockets write -u (-p shows programs here)"),
            ([b"--program", b"nginx"], "portview: unexpected argument "
             "'nginx'; to keep one program's sockets write --command nginx"),
            ([b"established"], "portview: unexpected argument 'established'; "
             "to list sockets in that state write --state established"),
            ([b"-x"], "portview: invalid option -- 'x'; portview lists TCP "
             "and UDP sockets, not UNIX ones (ss -x lists those)"),
            ([b"-an\x1b"], "portview: invalid option -- '\\x1b'"),
            ([b"--plain=1"],
             "portview: option '--plain' doesn't allow an argument"),
            ([b"--json=" + ESC],
             "portview: option '--json' doesn't allow an argument"),
            ([b"extra"], "portview: unexpected argument 'extra'"),
            ([b"5", b"6"], "portview: unexpected argument '6'"),
            ([b"5", b"extra"], "portview: unexpected argument 'extra'"),
            ([ESC], "portview: unexpected argument '%s'" % esc(ESC)),
            ([b"--color", b"never"], "portview: unexpected argument 'never'"),
            ([b"--", b"-x"], "portview: unexpected argument '-x'")):
        cases.append((argv, first, False))
    for argv, line in (
            ([b"--json", b"--lookup", b"80"],
             "portview: --json cannot be combined with --lookup: " + LOOKUP_ONLY),
            ([b"--lookup", b"80", b"--json"],
             "portview: --json cannot be combined with --lookup: " + LOOKUP_ONLY),
            # as the user spelled both
            ([b"--look", b"80", b"--js"],
             "portview: --js cannot be combined with --look: " + LOOKUP_ONLY),
            ([b"--ranges", b"--lookup", b"80"],
             "portview: --lookup cannot be combined with --ranges: " + RANGES_ONLY),
            ([b"--lookup", b"80", b"--lookup", b"443"],
             "portview: --lookup: give it once"),
            # the user's spelling, and options a mode would ignore
            ([b"--colour=yes"],
             "portview: --colour=yes: expected auto, always or never"),
            ([b"--stat=ESTABLISHD"], "portview: --stat=ESTABLISHD: unknown "
             "state; did you mean established?"),
            ([b"--ranges", b"--port", b"80"], "portview: --port cannot be "
             "combined with --ranges: " + RANGES_ONLY),
            ([b"--ranges", b"-4"], "portview: -4 cannot be combined with "
             "--ranges: " + RANGES_ONLY),
            ([b"--ranges", b"--no-loop"], "portview: --no-loop cannot be "
             "combined with --ranges: " + RANGES_ONLY),
            ([b"--lookup", b"80", b"--state", b"listen"], "portview: --state "
             "cannot be combined with --lookup: " + LOOKUP_ONLY),
            ([b"--look", b"80", b"--sport", b"1"], "portview: --sport cannot "
             "be combined with --look: " + LOOKUP_ONLY),
            # the watching options: what an interval and the events take
            ([b"-c", b"5"], "portview: -c cannot be combined with an "
             "interval (5): -c is every second"),
            ([b"--continuous", b"--interval", b"2"], "portview: --continuous "
             "cannot be combined with an interval (--interval 2): --continuous "
             "is every second"),
            ([b"--cont", b"4"], "portview: --cont cannot be combined with an "
             "interval (4): --cont is every second"),
            ([b"--cou", b"3"], "portview: --cou needs an interval or "
             "--events (as in portview -no 2 --count 5)"),
            ([b"--interval", b"2", b"3"],
             "portview: the interval is given twice (3 and --interval 2)"),
            ([b"--count", b"3"], "portview: --count needs an interval or "
             "--events (as in portview -no 2 --count 5)"),
            ([b"--events", b"5"], "portview: interval 5 cannot be combined "
             "with --events: " + EVENTS_ONLY),
            ([b"--events", b"-c"], "portview: -c cannot be combined with "
             "--events: " + EVENTS_ONLY),
            ([b"--events", b"-W"], "portview: -W cannot be combined with "
             "--events: " + EVENTS_ONLY),
            ([b"--events", b"-e"], "portview: -e cannot be combined with "
             "--events: " + EVENTS_ONLY),
            ([b"--events", b"--sort", b"port"], "portview: --sort cannot be "
             "combined with --events: " + EVENTS_ONLY),
            ([b"--events", b"-s"], "portview: --events cannot be combined "
             "with -s: " + SUMMARY_ONLY),
            ([b"-s", b"5"], "portview: interval 5 cannot be combined with "
             "-s: " + SUMMARY_ONLY),
            ([b"--ranges", b"-c"], "portview: -c cannot be combined with "
             "--ranges: " + RANGES_ONLY),
            ([b"--ranges", b"--events"], "portview: --events cannot be "
             "combined with --ranges: " + RANGES_ONLY),
            ([b"--lookup", b"80", b"-i"], "portview: -i cannot be combined "
             "with --lookup: " + LOOKUP_ONLY),
            ([b"--lookup", b"80", b"--count", b"2", b"1"], "portview: "
             "--count cannot be combined with --lookup: " + LOOKUP_ONLY),
            ([b"--sort", b"rate"], "portview: --sort rate: the rates need -i "
             "and an interval; as in portview -no 2 -i --sort rate"),
            ([b"-i", b"--sort", b"state,-rate"], "portview: --sort "
             "state,-rate: the rates need -i and an interval; as in portview "
             "-no 2 -i --sort rate"),
            ([b"--sort", b"rate", b"2"], "portview: --sort rate: the rates "
             "need -i and an interval; as in portview -no 2 -i --sort rate"),
            # 128 port options are fine (mixed kinds); the 129th is named
            ([b"--dport", b"1", b"--sport", b"2"] + [b"--port", b"3"] * 127,
             "portview: --port 3: too many port options (at most 128 --port, "
             "--sport and --dport; use a list: 80,443)")):
        cases.append((argv, line, True))
    return cases


def check_usage(c, pv):
    cases = value_cases() + option_cases()
    bad = []

    def attempt(case):
        argv, want, _ = case
        # -ano first: with sockets around, a partial table would show.
        # (not where the message is about what goes with a mode: -a would
        # be the option named)
        full = argv if "cannot be combined with" in want else [b"-ano"] + argv
        return run(full, pv)
    # Four at a time (each is a process of its own; under ASan each costs
    # a start-up and a leak check), the results judged in the table's order.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, cases))
    for (argv, want, one_line), (rc, out, err) in zip(cases, results):
        name = argv_name(argv)
        problems = []
        if rc != 2:
            problems.append("exit status %d, expected 2" % rc)
        if out:
            problems.append("stdout not empty: %s" % short(out, 200))
        ctl = raw_control(err)
        if ctl:
            problems.append("raw control byte on stderr (%s): %s"
                            % (ctl, short(err, 200)))
        lines = err.decode("utf-8", "surrogateescape").split("\n")
        if not err.endswith(b"\n"):
            problems.append("stderr does not end with a newline")
        first = lines[0]
        if first != want:
            problems.append("first stderr line:\n  expected %s\n  got      %s"
                            % (short(want, 300), short(first, 300)))
        if one_line and err.count(b"\n") != 1:
            problems.append("%d stderr lines, expected 1: %s"
                            % (err.count(b"\n"), short(err, 300)))
        if not one_line and len(lines) > 2 and \
                not lines[1].startswith("usage: portview"):
            problems.append("second stderr line is not the usage synopsis: "
                            "%r" % lines[1][:100])
        if problems:
            bad.append(name)
        c.ok(not problems, "%s: exit 2, no stdout, %s" % (
            name, "one stderr line" if one_line else "first stderr line"),
            "\n".join(problems))
    print("usage errors: %d cases, %d failed" % (len(cases), len(bad)))


# ---------------------------------------------------------------------------
# 2. PORTVIEW_SERVICES missing or garbage

def garbage_file(path):
    rnd = random.Random(8086)
    parts = [
        bytes(rnd.getrandbits(8) for _ in range(64 * 1024)),
        b"\n",
        b"\x00" * 4096 + b"\n",
        b"B" * LONG + b"\n",                      # a 100 KB line
        b"C" * LONG + b" 443/tcp\n",              # too long: ignored
        b"D" * 1100 + b" 443/tcp\n",              # over 1024 bytes: ignored
        b"evil\x00 443/tcp\n",                    # holds a NUL: ignored
        b"ev\x1b[2Jil 443/tcp\n",                 # control byte: ignored
        b"ev\xffil 443/tcp\n",                    # not ASCII: ignored
        b"evil 443/tcp\x00\n",
        b"evil 443\n", b"evil 443/\n", b"evil /tcp\n", b"evil 443/xtp\n",
        b"evil 99999999999999999999443/tcp\n",
        b"evil 65979/tcp\n",                      # 65979 = 443 + 65536
        b"pvgood 4433/tcp\n",                     # valid: must be read
        bytes(rnd.getrandbits(8) for _ in range(64 * 1024)),
        b"\n" * 1000,
        b"pvlast 4434/udp pvalias # valid, after all the garbage\n",
        b"E" * LONG,                              # last line, no newline
    ]
    with open(path, "wb") as f:
        f.write(b"".join(parts))


def row_of(out, local):
    for line in out.decode("utf-8", "replace").splitlines():
        w = line.split()
        if len(w) > 1 and w[1] == local:
            return line
    return None


def check_services(c, pv, tmp):
    gpath = os.path.join(tmp, "garbage-services")
    garbage_file(gpath)
    base = {}
    for argv in (["-an", "--port", "443"], ["--lookup", "443"],
                 ["-an", "--port", "https"]):
        rc, out, err = run(argv, pv, env={"PORTVIEW_SERVICES": "/dev/null"})
        c.eq((rc, err), (0, b""), "PORTVIEW_SERVICES=/dev/null portview %s: "
             "exit 0, stderr empty" % " ".join(argv))
        base[tuple(argv)] = out
    row = row_of(base[("-an", "--port", "443")], "0.0.0.0:443")
    c.ok(row is not None and row.split()[3:] ==
         ["LISTENING", "https", "well-known", "-"],
         "built-in registry: 0.0.0.0:443 listener row reads 'LISTENING "
         "https well-known -'", "row: %r" % row)
    for label, path in (("missing", "/nonexistent/services"),
                        ("a directory", tmp),
                        ("garbage (%d bytes)" % os.path.getsize(gpath),
                         gpath)):
        for argv in (["-an", "--port", "443"], ["--lookup", "443"],
                     ["-an", "--port", "https"]):
            rc, out, err = run(argv, pv, env={"PORTVIEW_SERVICES": path})
            name = "services file %s: portview %s" % (label, " ".join(argv))
            c.eq((rc, err), (0, b""), name + ": exit 0, stderr empty")
            if argv[0] == "-an":
                row = row_of(out, "0.0.0.0:443")
                c.ok(row is not None and "https well-known" in row,
                     name + ": 443 is still named https",
                     "row: %r\nstdout:\n%s" % (row, short(out, 2000)))
            c.ok(out == base[tuple(argv)], name + ": same output as with "
                 "the built-in registry only",
                 "got:\n%s\nwant:\n%s" % (short(out, 2000),
                                          short(base[tuple(argv)], 2000)))
    # The garbage file was read: its two valid lines count.
    for argv, want in ((["--lookup", "pvgood"], "4433/tcp    pvgood  "
                        "[/etc/services]"),
                       (["--lookup", "pvalias"], "4434/udp    pvlast "
                        "(pvalias)  [/etc/services]")):
        rc, out, err = run(argv, pv, env={"PORTVIEW_SERVICES": gpath})
        lines = [ln.strip() for ln in out.decode("utf-8", "replace")
                 .splitlines()]
        c.ok(rc == 0 and err == b"" and want.strip() in lines,
             "garbage services file: portview %s finds its valid line"
             % " ".join(argv), "exit %d, stderr %s, stdout:\n%s"
             % (rc, short(err), out.decode("utf-8", "replace")))


# ---------------------------------------------------------------------------
# 3. /proc entries that vanish during the walk

FORKER_CODE = r'''
import os, select, socket, sys
sys.stdout.write("ready %d\n" % os.getpid())
sys.stdout.flush()
n = 0
live = 0
while True:
    for i in range(8):
        pid = os.fork()
        if pid == 0:
            try:
                if i % 2:
                    os.sched_yield()
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind(("127.0.0.1", 0))
                t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                t.bind(("::1", 0))
                t.listen(1)
            finally:
                os._exit(0)
        n += 1
        live += 1
    while live:
        pid, _ = os.waitpid(-1, os.WNOHANG if live < 64 else 0)
        if pid == 0:
            break
        live -= 1
    r, _, _ = select.select([sys.stdin], [], [], 0)
    if r:
        if not sys.stdin.readline():
            break
        sys.stdout.write("%d\n" % n)
        sys.stdout.flush()
while live:
    os.waitpid(-1, 0)
    live -= 1
'''

HEADER = ["Proto", "Local Address", "Foreign Address", "State", "PID",
          "Local Port", "Foreign Port"]
# (BOUND: a listener caught by the bind hash's walk as its process closes it)
STATES = {"ESTABLISHED", "SYN_SENT", "SYN_RECEIVED", "FIN_WAIT_1",
          "FIN_WAIT_2", "TIME_WAIT", "CLOSED", "CLOSE_WAIT", "LAST_ACK",
          "LISTENING", "CLOSING", "BOUND"}
# (a dual-stack wildcard is *, a bound device follows the address: %lo)
ADDR = re.compile(r"^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+(%[^\]]+)?\]|\*)"
                  r"(%[^:\s]+)?:\d+$")
ANNOT = re.compile(r"^(-|\S+ (well-known|registered|dynamic))$")
ANNOT_LOCAL = re.compile(r"^(-|\S+ (well-known|registered|dynamic)"
                         r"( ephemeral)?)$")


def table_problems(out):
    """Why out is not a well-formed `portview -ano` table (or [])."""
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if not out.endswith(b"\n"):
        return ["stdout does not end with a newline"]
    lines.pop()
    if lines[:3] != ["", "Active Connections", ""] or len(lines) < 4:
        return ["bad title lines: %r" % lines[:4]]
    head = lines[3]
    starts = []
    for h in HEADER:
        i = head.find(h, starts[-1] + 1 if starts else 0)
        if i < 0:
            return ["header lacks %r: %r" % (h, head)]
        starts.append(i)
    if re.split(r"\s{2,}", head.strip()) != HEADER or \
            not head.startswith("  Proto"):
        return ["bad header: %r" % head]
    bad = []
    for ln in lines[4:]:
        cells = [ln[a:b] for a, b in zip(starts, starts[1:] + [None])]
        why = None
        if ln[:starts[0]] != "  ":
            why = "does not start with two spaces"
        elif any(cl and not cl.endswith(" ") for cl in cells[:-1]):
            why = "a cell runs into the next column"
        else:
            proto, local, foreign, state, pid, lport, fport = \
                [cl.strip() for cl in cells]
            if any(cl[:1] == " " for cl in cells if cl.strip()):
                why = "a cell does not start at its column"
            elif proto not in ("TCP", "UDP"):
                why = "bad proto %r" % proto
            elif not ADDR.match(local):
                why = "bad local address %r" % local
            elif not (ADDR.match(foreign) or
                      (proto == "UDP" and foreign == "*:*")):
                why = "bad foreign address %r" % foreign
            elif not (state in STATES if proto == "TCP"
                      else state in ("", "ESTABLISHED")):
                why = "bad state %r" % state
            elif not re.match(r"^(-|\?|\d+(,\d+)*)$", pid):
                why = "bad PID cell %r" % pid
            elif not ANNOT_LOCAL.match(lport):
                why = "bad Local Port cell %r" % lport
            elif not ANNOT.match(fport):
                why = "bad Foreign Port cell %r" % fport
        if why:
            bad.append("%s: %r" % (why, ln))
    return bad


def check_vanishing(c, pv, w):
    # A sentinel whose PID sorts after every forked child's in /proc: a walk
    # that gave up at a vanished process would lose its owner.
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
    except (OSError, ValueError):
        pid_max = 32768
    high = common.set_next_pid(max(pid_max - 500, 2000))
    sentinel = w.holder("pv-sentinel")
    w.tcp_listen(sentinel, "127.0.0.1", 8443)
    if high:
        common.set_next_pid(300)
    print("forking: sentinel holder PID %d (%s the forked children's)"
          % (sentinel.pid, "above" if high else "not placed above"))
    owner_rows = {"127.0.0.1:8443": str(sentinel.pid),
                  "0.0.0.0:443": str(w.holders[0].pid)}
    p = subprocess.Popen([sys.executable, "-c", FORKER_CODE],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1)
    try:
        line = p.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("forker did not start: %r" % line)

        def count():
            p.stdin.write("count\n")
            p.stdin.flush()
            return int(p.stdout.readline())
        # Under way before the first run.
        common.wait_until(lambda: count() > 0, "the forker's first fork",
                          10)
        start = before = count()
        overlapped = 0
        failed = []
        rows = []
        for i in range(1, 31):
            rc, out, err = run(["-ano"], pv)
            after = count()
            overlapped += after > before
            before = after
            problems = table_problems(out)
            for local, pid in owner_rows.items():
                row = row_of(out, local)
                if row is None or row.split()[4] != pid:
                    problems.append("%s should show PID %s: %r"
                                    % (local, pid, row))
            rows.append(max(0, out.count(b"\n") - 4))
            notes = common.unknown_owner_notes()
            ok = rc == 0 and (err == b"" or err.decode().rstrip("\n") in
                              notes) and not problems
            if not ok:
                failed.append(i)
            c.ok(ok, "forking: run %d: exit 0, stderr empty, well-formed "
                 "table, held sockets keep their owners" % i, "exit %d, stderr %s\n%s"
                 % (rc, short(err, 300), "\n".join(problems[:5])))
        total = before - start
        print("forking: %d processes forked during 30 runs; rows per run "
              "%d-%d; failed runs %s" % (total, min(rows), max(rows),
                                         failed or "none"))
        c.ok(total >= 300, "forker forked at least 300 processes during the "
             "runs (%d)" % total)
        c.eq(overlapped, 30, "forking went on during every run")
    finally:
        p.stdin.close()
        p.wait(timeout=20)


# ---------------------------------------------------------------------------
# 4. a closed pipe

def check_pipe(c, pv, w):
    h = w.holder("pv-many")
    h.cmd("nofile", 4096)
    h.cmd("udp_many", "127.0.0.1", 20000, 3000)
    rc, full, err = run(["-ano"], pv)
    c.eq((rc, err), (0, b""), "portview -ano with 3000 more sockets: ok")
    c.ok(len(full) > 4 * 65536, "full output (%d bytes) is many pipe "
         "buffers long" % len(full))
    for argv in (["-ano"], ["-ano", "--json"]):
        for i in range(5):
            r = subprocess.run(
                ["bash", "-c", '"$0" "$@" | head -c 1; '
                 'echo "status=${PIPESTATUS[0]}"', pv] + argv,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            first = b"\n" if argv == ["-ano"] else b"["
            c.eq((r.stdout, r.stderr), (first + b"status=0\n", b""),
                 "portview %s | head -c 1 (try %d): exit 0, stderr empty"
                 % (" ".join(argv), i + 1))


# ---------------------------------------------------------------------------
# 5. unprivileged

def check_unpriv(c, pv, tmp):
    try:
        pwd.getpwnam("nobody")
        grp.getgrnam("nogroup")
    except KeyError:
        print("NOTE: no user nobody / group nogroup: unprivileged check "
              "skipped")
        return
    if not shutil.which("setpriv"):
        print("NOTE: setpriv not found: unprivileged check skipped")
        return
    d, (copy,) = common.public_copy(pv)
    try:
        for argv in (["-ano"], ["-ano", "--json"]):
            rc, out, err = run(argv, copy, user=("nobody", "nogroup"))
            name = "as nobody: portview %s" % " ".join(argv)
            c.eq(rc, 0, name + ": exit 0")
            c.eq(err, NOTE, name + ": exactly the one-line note on stderr")
            if argv == ["-ano"]:
                problems = table_problems(out)
                c.ok(not problems, name + ": well-formed table",
                     "\n".join(problems[:5]))
                row = row_of(out, "0.0.0.0:443")
                c.ok(row is not None and row.split()[4] == "?",
                     name + ": root's 0.0.0.0:443 listener shows PID '?' "
                     "(unknown)",
                     "row: %r" % row)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------

def main():
    common.enter_netns()
    pv = common.require_portview()
    t0 = time.monotonic()
    c = common.Checker()
    tmp = tempfile.mkdtemp(prefix="portview-badinput-")
    w = common.World()
    try:
        h = w.holder("pv-https")
        w.tcp_listen(h, "0.0.0.0", 443)
        w.tcp_connect(h, "127.0.0.1", 40443, w.socks[0], "127.0.0.1")
        w.udp_bind(h, "127.0.0.1", 5353)
        steps = (("usage errors", lambda: check_usage(c, pv)),
                 ("services file", lambda: check_services(c, pv, tmp)),
                 ("vanishing /proc entries", lambda: check_vanishing(c, pv, w)),
                 ("closed pipe", lambda: check_pipe(c, pv, w)),
                 ("unprivileged", lambda: check_unpriv(c, pv, tmp)))
        for name, fn in steps:
            t = time.monotonic()
            fn()
            print("-- %s: %.1f s" % (name, time.monotonic() - t))
    finally:
        w.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("total time %.1f s" % (time.monotonic() - t0))
    c.finish()


if __name__ == "__main__":
    main()

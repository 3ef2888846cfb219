#!/usr/bin/env python3
"""portview watches: the listing again every interval, what changed, and
the TCP internals with their rates (-i), on sockets this test opens in a
private network namespace.

1. In a pipe, `portview -no 0.3 --count 3` prints three snapshots, each
   an RFC 3339 time line and the exact table of the model; --continuous
   (-c) repeats every second.  The refreshes after the first follow the
   kernel's change log where it loads (PORTVIEW_DEBUG says which did);
   PORTVIEW_REFRESH=dump has each dump.  An unchanged row's text is
   copied from the refresh before (PORTVIEW_DEBUG says how many were).
2. NDJSON (--json): every line a JSON document (json.loads) with its time
   and counts; a connection opened mid-way is "new" in exactly one line
   and unmarked after; one closed mid-way is "closed" in exactly one line,
   the one after its last, then absent; matched by cookie, never by
   address (the second connection reuses the first one's addresses).
3. The terminal, in tmux: `portview -no 2` (no colour) redraws in place
   on the live screen (ncurses, a status line and a footer of keys under
   the rows): a new connection's rows marked '+' for one refresh, a
   closed one's '-' for one refresh then gone, the header's counts;
   PORTVIEW_DEBUG's lines
   never on the drawn screen; C-z stops it with the terminal put back
   (what standard error had shown there), continuing draws again; C-c
   ends it with exit status 0, the alternate screen left, the last
   refresh printed, then what standard error had.
4. With colour (tmux, TERM=xterm): the new rows green, the closed ones
   red, the whole row, an unchanged row's state in its colour; SIGTERM:
   exit 0, the normal screen and the cursor back, echo on, the last
   refresh printed.
5. One process, the same netlink sockets throughout: the socket
   descriptors of a running interval (two per thread its dumps go out on)
   are the same at its 2nd and 12th refresh.
6. -i: a transfer of a known size shows exactly that many bytes
   acknowledged and received (JSON and the table's cells); a transfer at a known pace
   shows a rate within 20% of it (the median of the refreshes), the
   header the totals, and --sort rate lists the faster connection first;
   the header's sent and received are the sums of the connections' rates,
   each of its own counter (the senders' ends alone received nothing).
7. The time between refreshes: `--json 0.5 --count 5` spans at least
   2 s, `1.2 --count 3` at least 2.4 s, by the refreshes' own times and
   the run's.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

COUNTS = (r"  (\d+) sockets?(, (\d+) new, (\d+) changed, (\d+) closed)?"
          r"(  send .*B/s, recv .*B/s)?$")
# the line above each snapshot: in a pipe the whole date, on a terminal the clock
TIME_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d" + COUNTS)
CLOCK_LINE = re.compile(r"^\d\d:\d\d:\d\d" + COUNTS)
UTC_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def finish(p, timeout=30):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out.decode(), err.decode()


# ---------------------------------------------------------------------------
# 1. in a pipe

def pipe_snapshots(c, binary, w):
    want = common.render_table(common.select(w.socks), w.comms, owner=True)
    rc, out, err = common.run_portview(["-no", "0.3", "--count", "3"], binary,
                                       plain=True)
    c.eq((rc, err), (0, ""), "pipe: -no 0.3 --count 3 exits 0, stderr empty")
    parts = re.split(r"^(.*)\n(?=\nActive Connections)", out, flags=re.M)
    times = parts[1::2]
    tables = [p for p in parts[2::2]]
    c.eq(len(times), 3, "pipe: three snapshots")
    for i, t in enumerate(times):
        m = TIME_LINE.match(t)
        c.ok(m is not None and int(m.group(1)) == len(common.select(w.socks)),
             "pipe: snapshot %d after its time and count: %r" % (i + 1, t))
        c.ok(i == 0 or (m and m.group(3) == "0" and m.group(5) == "0"),
             "pipe: snapshot %d: nothing new or closed" % (i + 1))
    for i, t in enumerate(tables):
        c.eq(t, want, "pipe: snapshot %d is the whole table" % (i + 1))

    t0 = time.monotonic()
    rc, out, err = common.run_portview(["-n", "--continuous", "--count", "2",
                                        "-H"], binary, plain=True)
    took = time.monotonic() - t0
    lines = out.splitlines()
    c.ok(rc == 0 and err == "" and len([l for l in lines
                                        if TIME_LINE.match(l)]) == 2 and
         0.9 < took < 10, "--continuous --count 2: two snapshots a second "
         "apart (%.2f s), -H: the rows only" % took, out + err)
    rows = common.render_table(common.select(w.socks), w.comms, header=False)
    c.eq("".join(l + "\n" for l in lines if not TIME_LINE.match(l)),
         rows * 2, "--continuous -H: each snapshot's rows")

    def run(value):
        env = dict(os.environ, PORTVIEW_DEBUG="1")
        if value is None:
            env.pop("PORTVIEW_REFRESH", None)
        else:
            env["PORTVIEW_REFRESH"] = value
        p = subprocess.run([binary, "-no", "--plain", "0.2", "--count", "4"], env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr
    rc, out, err = run(None)
    lines = re.findall(r"^portview: debug: follow: (.*)$", err, re.M)
    if any("cannot load" in line for line in lines):
        print("# pipe: the change log cannot load here: %s" % lines[0])
    else:
        c.ok(rc == 0 and len(lines) == 4 and lines[0].startswith("a full dump (first)")
             and all(re.match(r"\d+ changes applied, \d+ sockets asked for again, "
                              r"\d+ followed(; the bind hash walked)?$", line)
                     for line in lines[1:]),
             "pipe: the first refresh dumps, the next three follow the change log",
             "\n".join(lines) or err[-2000:])
        c.eq(out.count(want), 4, "pipe: each followed refresh is the whole table")
    copied = re.findall(r"^portview: debug: table: (\d+) of (\d+) rows copied from the "
                        r"refresh before$", err, re.M)
    c.ok(len(copied) == 4 and copied[0][0] == "0" and
         all(a == b and int(b) == len(common.select(w.socks)) for a, b in copied[1:]),
         "pipe: the refreshes after the first copy every unchanged row's text",
         "\n".join(str(x) for x in copied) or err[-2000:])
    rc, out, err = run("dump")
    c.ok(rc == 0 and "debug: follow" not in err and err.count("debug: TCP dump") >= 4,
         "pipe: PORTVIEW_REFRESH=dump: every refresh dumps", err[-2000:])


# ---------------------------------------------------------------------------
# 2. NDJSON

def ndjson_changes(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7001)
    a_cli, a_srv = w.tcp_connect(h, "127.0.0.1", 46001, lst, "127.0.0.1")
    p = common.start_portview(binary, ["-an", "0.3", "--json", "--count",
                                       "9", "--port", "7001"])
    lines = []
    for i in range(9):
        line = p.stdout.readline().decode()
        lines.append(line)
        if i == 1:
            w.tcp_connect(h, "127.0.0.1", 46002, lst, "127.0.0.1")
        if i == 3:
            h.cmd("reset", a_cli.sid)
            common.wait_kernel(a_cli, None)
            w.close(a_srv)
            common.wait_kernel(a_srv, None)
            for s in (a_cli, a_srv):
                s.open = False
                w.socks.remove(s)
        if i == 5:
            # a new connection on A's very addresses: new, not A come back
            w.tcp_connect(h, "127.0.0.1", 46001, lst, "127.0.0.1")
    rc, rest, err = finish(p)
    c.eq((rc, rest, err), (0, "", ""), "NDJSON: 9 lines, exit 0, stderr empty")
    docs = []
    for i, line in enumerate(lines):
        try:
            docs.append(json.loads(line))
        except ValueError as e:
            c.ok(False, "NDJSON line %d parses" % (i + 1), "%s: %r" % (e, line))
            return
    c.ok(all(line.endswith("}\n") and line.count("\n") == 1
             for line in lines), "NDJSON: one document per line")
    c.ok(all(UTC_MS.match(d["time"]) and d["interval"] == 0.3
             for d in docs), "NDJSON: each with its time (UTC) and interval")

    def port_of(o):
        return (o["local"]["port"], o["foreign"]["port"])

    c.ok(all(d["total"] == len([o for o in d["sockets"]
                                if o["change"] != "closed"]) and
             d["new"] == len([o for o in d["sockets"] if o["change"] == "new"])
             and d["closed"] == len([o for o in d["sockets"]
                                     if o["change"] == "closed"])
             for d in docs), "NDJSON: the counts are the rows'",
         json.dumps([(d["total"], d["new"], d["closed"]) for d in docs]))
    c.eq([o["change"] for o in docs[0]["sockets"]], [None] * 3,
         "NDJSON: the first snapshot marks nothing")

    def story(ports):
        """What each line says of the socket on ports, a letter a line:
        N unmarked, n new, c closed, . absent (several: joined)."""
        letter = {None: "N", "new": "n", "closed": "c", "changed": "~"}
        return "".join("".join(letter[o["change"]] for o in d["sockets"]
                               if port_of(o) == ports) or "."
                       for d in docs)
    # A (46001 <-> 7001): held, closed once, absent, then a new connection
    # on its very addresses: new once.  B: absent, new once, then held.
    # (Which line each step lands in depends on the machine's speed.)
    for ports in ((46001, 7001), (7001, 46001)):
        got = story(ports)
        c.ok(re.match(r"^N{4,}c\.*nN*$", got) is not None,
             "NDJSON: %d -> %d closed once, then a new one on its addresses "
             "new once: %s" % (ports + (got,)))
    for ports in ((46002, 7001), (7001, 46002)):
        got = story(ports)
        c.ok(re.match(r"^\.{2,}nN+$", got) is not None,
             "NDJSON: %d -> %d new once, then unmarked: %s" % (ports + (got,)))

    def cookies(d):
        return {o["cookie"] for o in d["sockets"]
                if port_of(o) in ((46001, 7001), (7001, 46001))}
    c.ok(len(cookies(docs[0])) == 2 and len(cookies(docs[-1])) == 2 and
         not cookies(docs[0]) & cookies(docs[-1]),
         "NDJSON: the new connection on A's addresses has other cookies")


# ---------------------------------------------------------------------------
# 3. the terminal, in tmux

class Tmux:
    def __init__(self, cols, rows, command):
        # unique on the host: in its PID namespace this test may be PID 1,
        # as another test's may be, and tmux's sockets are in a shared /tmp
        self.sock = "pv-watch-%d-%s" % (os.getpid(), os.urandom(6).hex())
        self.cols = cols
        subprocess.run(["tmux", "-L", self.sock, "new-session", "-d", "-x",
                        str(cols), "-y", str(rows), command], check=True)

    def screen(self, history=False):
        r = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p"] +
                           (["-S", "-"] if history else []),
                           stdout=subprocess.PIPE, check=True)
        return [l.rstrip() for l in r.stdout.decode().split("\n")]

    def keys(self, *k):
        subprocess.run(["tmux", "-L", self.sock, "send-keys"] + list(k),
                       check=True)

    def colours(self):
        """The screen's lines with their SGR codes (capture-pane -e)."""
        r = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p",
                            "-e"], stdout=subprocess.PIPE, check=True)
        return r.stdout.decode().split("\n")

    def display(self, fmt):
        r = subprocess.run(["tmux", "-L", self.sock, "display-message", "-p",
                            fmt], stdout=subprocess.PIPE, check=True)
        return r.stdout.decode().strip()

    def wait(self, cond, what, timeout=15):
        last = []

        def ok():
            last[:] = [self.screen()]
            return cond(last[0])
        try:
            common.wait_until(ok, what, timeout)
            return last[0]
        except RuntimeError as e:
            raise RuntimeError("%s; the screen:\n%s" % (e, "\n".join(last[0])))

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       stderr=subprocess.DEVNULL)


def terminal_redraw(c, binary, w, h):
    if not shutil.which("tmux"):
        c.ok(False, "tmux is installed (scripts/setup.sh lists it)")
        return
    lst = w.tcp_listen(h, "127.0.0.1", 7002)
    a = w.tcp_connect(h, "127.0.0.1", 46101, lst, "127.0.0.1")

    def rows(mark=None, where=""):
        """The model's rows for port 7002 (every state: --port names it),
        with mark in the indent of the rows that hold where."""
        socks = [s for s in w.socks if s.open and 7002 in (s.lport, s.rport)]
        text = common.render_table(common.select(socks, all=True), w.comms,
                                   owner=True, header=False)
        return [(mark + l[1:]) if mark and where in l else l
                for l in text.splitlines()]

    # PORTVIEW_DEBUG: lines on standard error at every refresh, which must
    # not reach the screen while portview draws; every 2 s: a mark lasts one
    # refresh, which a loaded machine's capture-pane may miss in 1 s
    cmd = ("env TERM=xterm NO_COLOR=1 PORTVIEW_DEBUG=1 %s -no --plain --port "
           "7002 2; echo rc=$?; sleep 60" % binary)
    t = Tmux(100, 30, cmd)
    try:
        # the first refresh: the header, a blank line, the titles, the rows
        want = rows()
        # (the whole screen: its footer is drawn last)
        first = t.wait(lambda s: CLOCK_LINE.match(s[0]) and
                       s[3:3 + len(want)] == want and len(s) >= 30 and
                       s[29].startswith("q quit"), "the first refresh")
        c.ok(not any("debug" in l for l in first),
             "tmux: nothing of standard error on the drawn screen")
        m = CLOCK_LINE.match(first[0])
        c.ok(m.group(1) == "3" and m.group(2) is None,
             "tmux: the first header counts 3 sockets, nothing compared",
             first[0])
        c.eq(first[1:3], ["", "  Proto  Local Address          Foreign "
                          "Address        State           PID"],
             "tmux: a blank line and the titles under the header")
        c.ok(len(first) >= 30 and not any(first[3 + len(want):28]) and
             first[29].startswith("q quit  ? help  space pause"),
             "tmux: nothing between the rows and the status line, the keys "
             "in the footer", "\n".join(first))

        w.tcp_connect(h, "127.0.0.1", 46102, lst, "127.0.0.1")
        want = rows("+", ":46102 ")
        got = t.wait(lambda s: s[3:3 + len(want)] == want,
                     "the new rows marked +")
        c.ok(got[0].endswith("  5 sockets, 2 new, 0 changed, 0 closed"),
             "tmux: the header counts 5 sockets, 2 new", got[0])
        want = rows()
        t.wait(lambda s: s[3:3 + len(want)] == want and
               s[0].endswith(", 0 new, 0 changed, 0 closed"),
               "the new rows unmarked at the next refresh")
        c.ok(True, "tmux: a new connection's rows are marked + for one "
             "refresh")

        # shown once more as the last refresh had them: with their owner
        want = rows("-", ":46101 ")
        h.cmd("reset", a[0].sid)
        w.close(a[1])
        for s in a:
            common.wait_kernel(s, None)
        got = t.wait(lambda s: s[3:3 + len(want)] == want,
                     "the closed rows marked - once more")
        c.ok(got[0].endswith("  3 sockets, 0 new, 0 changed, 2 closed"),
             "tmux: the header counts 3 sockets, 2 closed", got[0])
        for s in a:
            s.open = False
        gone = rows()
        t.wait(lambda s: s[3:3 + len(gone)] == gone and
               s[3 + len(gone)] == "", "the closed rows gone at the next "
               "refresh")
        c.ok(True, "tmux: a closed connection's rows are marked - for one "
             "refresh, then gone")

        # Ctrl-Z: stopped, with the terminal put back; continued: drawn again
        # this pane's portview (a child of its shell), not another test's
        pane = subprocess.run(["tmux", "-L", t.sock, "display-message", "-p",
                               "#{pane_pid}"], stdout=subprocess.PIPE, check=True)
        pid = int(subprocess.run(["pgrep", "-P", pane.stdout.decode().strip(), "-x",
                                  "portview"], stdout=subprocess.PIPE).stdout.split()[0])
        before = t.screen()[0]
        t.keys("C-z")

        def state():
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        common.wait_until(lambda: state() == "T", "portview stopped by C-z")
        stopped = t.screen()
        os.kill(pid, signal.SIGCONT)
        common.wait_until(lambda: state() != "T", "portview continued")
        # a refresh taken after it continued: another time than the last
        again = t.wait(lambda s: CLOCK_LINE.match(s[0]) and
                       s[0] != before and s[3:3 + len(gone)] == gone,
                       "a refresh after C-z")
        c.ok(any(l.startswith("portview: debug:") for l in stopped) and
             not any(l.startswith("portview: debug:") for l in again),
             "tmux: C-z puts the terminal back (what was kept aside shown), "
             "continuing draws again", "\n".join(stopped + ["--"] + again))

        t.keys("C-c")
        t.wait(lambda s: "rc=0" in s, "exit status 0 after C-c")
        end = t.screen(history=True)
        at = end.index("rc=0")
        head = max(i for i, l in enumerate(end[:at]) if CLOCK_LINE.match(l))
        rows = end[head + 3:head + 3 + len(gone)]
        after = end[head + 3 + len(gone):at]
        c.ok(rows == gone and
             any(l.startswith("portview: debug:") for l in after) and
             not any(l.startswith("  TCP") for l in after),
             "tmux: C-c ends it with status 0, the alternate screen left, "
             "the last refresh printed, then what standard error had",
             "\n".join(end[head:at + 1]))
    finally:
        t.close()


# ---------------------------------------------------------------------------
# 4. colour on the terminal

SGR_CODE = re.compile(r"\x1b\[([0-9;]*)m")


def sgr_params(line, text):
    """The SGR parameters in force where text starts on line (tmux -e)."""
    at = line.find(text)
    if at < 0:
        return None
    params = set()
    for m in SGR_CODE.finditer(line[:at]):
        codes = [int(x) for x in m.group(1).split(";") if x] or [0]
        if 0 in codes:
            params = set()
        params |= {x for x in codes if x}
    return params


def colour_on_screen(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7003)
    a = w.tcp_connect(h, "127.0.0.1", 46201, lst, "127.0.0.1")
    cmd = ("env -u NO_COLOR TERM=xterm %s -no --plain --port 7003 0.5; "
           "echo rc=$?; stty -a | tr ' ' '\\n' | grep -x -- '-*echo'; "
           "sleep 60" % binary)
    t = Tmux(100, 30, cmd)
    b = None

    def row(lines, text):
        return next((l for l in lines if text in l), "")
    try:
        t.wait(lambda s: any("127.0.0.1:46201" in l for l in s),
               "the first refresh")
        c.eq(t.display("#{alternate_on}"), "1", "colour: the alternate screen")
        b = w.tcp_connect(h, "127.0.0.1", 46202, lst, "127.0.0.1")
        common.wait_until(lambda: 42 in (sgr_params(row(
            t.colours(), "127.0.0.1:46202 "), "TCP") or ()),
            "the new rows in green", 15)
        lines = t.colours()
        new = [sgr_params(l, "TCP") for l in lines if ":46202" in l]
        c.ok(len(new) == 2 and all({30, 42} <= p for p in new),
             "colour: the new connection's rows black on green, whole",
             repr([l for l in lines if ":46202" in l]))
        old = row(lines, "127.0.0.1:46201 ")
        c.ok(32 in (sgr_params(old, "ESTABLISHED") or ()) and
             42 not in (sgr_params(old, "TCP") or ()),
             "colour: an unchanged row keeps its state's colour", repr(old))
        h.cmd("reset", a[0].sid)
        w.close(a[1])
        common.wait_until(lambda: 41 in (sgr_params(row(
            t.colours(), "127.0.0.1:46201 "), "TCP") or ()),
            "the closed rows in red", 15)
        lines = t.colours()
        gone = [sgr_params(l, "TCP") for l in lines if ":46201" in l]
        c.ok(len(gone) == 2 and all(41 in p for p in gone),
             "colour: the closed connection's rows in red",
             repr([l for l in lines if ":46201" in l]))
        pane = t.display("#{pane_pid}")
        pid = int(subprocess.run(["pgrep", "-P", pane, "-x", "portview"],
                                 stdout=subprocess.PIPE).stdout.split()[0])
        os.kill(pid, signal.SIGTERM)
        end = t.wait(lambda s: any(l.startswith("rc=") for l in s) and
                     any(l.strip() in ("echo", "-echo") for l in s),
                     "portview ended by SIGTERM")
        at = end.index("rc=0") if "rc=0" in end else len(end)
        c.ok("rc=0" in end and "echo" in [l.strip() for l in end] and
             t.display("#{alternate_on}") == "0" and
             t.display("#{cursor_flag}") == "1" and
             any("127.0.0.1:46202" in l for l in end[:at]),
             "colour: SIGTERM: exit 0, the normal screen, cursor and echo "
             "back, the last refresh printed", "\n".join(end))
    finally:
        t.close()
    if b:
        w.close(b[0])
        w.close(b[1])


# ---------------------------------------------------------------------------
# 5. the same netlink sockets throughout

def same_sockets(c, binary):
    p = common.start_portview(binary, ["-an", "0.1", "--count", "14"])

    def refreshes(n):
        while n:
            line = p.stdout.readline()
            if not line:
                return
            n -= bool(TIME_LINE.match(line.decode().rstrip("\n")))
    refreshes(2)
    first = common.socket_links(p.pid)
    refreshes(10)
    later = common.socket_links(p.pid) if p.poll() is None else None
    rc, _, err = finish(p)
    # two per thread the dumps go out on: -an's 4 requests, one thread per CPU
    want = 2 * min(4, os.cpu_count() or 1)
    c.ok(len(first) == want and later == first and rc == 0 and err == "",
         "one snapshotter: the same %d netlink sockets at the 2nd refresh and "
         "the 12th" % want, "%r then %r (rc %r, %r)" % (first, later, rc, err))


# ---------------------------------------------------------------------------
# 6. -i

def column_cells(table, title):
    """The cells under title in a table printed in full: by column start."""
    lines = table.splitlines()
    head = [l for l in lines if l.startswith("  Proto")][0]
    start = head.index(title)
    end = start + len(title)
    while end < len(head) and head[end] == " ":
        end += 1
    return {tuple(l.split()[1:3]): l[start:end].strip()
            for l in lines if l.startswith("  TCP") or l.startswith("  UDP")}


def parse_si(text):
    """A short count (12.3k, 1.00M) as a number."""
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}
    if text and text[-1] in scale:
        return float(text[:-1]) * scale[text[-1]]
    return float(text)


def info_counts(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7004)
    cli, srv = w.tcp_connect(h, "127.0.0.1", 46301, lst, "127.0.0.1")
    w.udp_bind(h, "127.0.0.1", 5353)
    size = 3000000
    h.cmd("drain", srv.sid)
    h.cmd("send", cli.sid, size)

    def acked():
        rc, out, err = common.run_portview(["-n", "--info", "--json",
                                            "--sport", "46301"], binary)
        o = json.loads(out)
        return o[0] if o and o[0]["info"]["bytes_acked"] == size + 1 else None
    o = common.wait_until(acked, "the transfer acknowledged", 15)
    i = o["info"]
    # bytes_sent counts retransmissions too, which a loaded machine's
    # loopback sees now and then; the acknowledged bytes are exact
    c.ok(i["bytes_sent"] >= size and i["bytes_received"] == 0 and
         i["segs_out"] > 0 and i["rtt_us"] > 0 and i["snd_cwnd"] > 0,
         "-i --json: the sender's info: %d bytes sent, acked %d" %
         (i["bytes_sent"], i["bytes_acked"]), json.dumps(i))
    rc, out, err = common.run_portview(["-n", "-i", "--json", "--sport",
                                        "7004"], binary)
    srv_o = [o for o in json.loads(out) if o["foreign"]["port"] == 46301]
    c.ok(rc == 0 and len(srv_o) == 1 and
         srv_o[0]["info"]["bytes_received"] == size and
         srv_o[0]["info"]["bytes_sent"] == 0,
         "-i --json: the receiver's info: %d bytes received" % size, out)
    rc, out, err = common.run_portview(["-an", "-i", "--json", "--port",
                                        "5353"], binary)
    udp = json.loads(out)
    c.ok(len(udp) == 1 and udp[0]["info"] is None and "rate" not in udp[0],
         "-i --json: a UDP socket's info is null, and no rate without an "
         "interval")
    rc, out, err = common.run_portview(["-an", "-i", "--port", "7004,5353",
                                        "--plain"], binary)
    sent = column_cells(out, "Acked")
    rcvd = column_cells(out, "Rcvd")
    c.eq((rc, err, sent.get(("127.0.0.1:46301", "127.0.0.1:7004")),
          rcvd.get(("127.0.0.1:7004", "127.0.0.1:46301")),
          sent.get(("127.0.0.1:5353", "*:*"))), (0, "", "3.00M", "3.00M", "-"),
         "-i table: the Acked and Rcvd cells say 3.00M, UDP '-'")
    c.ok("Send/s" not in out, "-i without an interval: no rate columns")
    w.close(cli)
    w.close(srv)


def rates(c, binary, w, h):
    lst = w.tcp_listen(h, "127.0.0.1", 7005)
    fast = w.tcp_connect(h, "127.0.0.1", 46401, lst, "127.0.0.1")
    slow = w.tcp_connect(h, "127.0.0.1", 46402, lst, "127.0.0.1")
    pace = 1000000  # bytes a second: 50,000 twenty times a second
    for (cli, srv), chunk in ((fast, 50000), (slow, 5000)):
        h.cmd("drain", srv.sid)
        h.cmd("pace", cli.sid, chunk, 20, 12)
    p = common.start_portview(binary, ["-n", "-i", "2", "--count", "5",
                                       "--json", "--port", "7005", "--sort",
                                       "rate"])
    q = common.start_portview(binary, ["-n", "--plain", "-i", "2", "--count",
                                       "3", "--port", "7005", "--sort", "rate"])
    # one direction each: the senders' ends only, the receivers' ends only
    ends = {what: common.start_portview(binary, ["-n", "-i", "1", "--count", "4", "--json",
                                                 opt, "46401,46402"])
            for what, opt in (("senders", "--sport"), ("receivers", "--dport"))}
    rc, out, err = finish(p, 60)
    rc2, text, err2 = finish(q, 60)
    c.eq((rc, err, rc2, err2), (0, "", 0, ""), "rates: exit 0, stderr empty")
    header_totals(c, {what: finish(e, 60) for what, e in ends.items()})
    docs = [json.loads(l) for l in out.splitlines()]
    c.eq(len(docs), 5, "rates: 5 NDJSON lines")

    def rate(d, lport, rport, what):
        for o in d["sockets"]:
            if (o["local"]["port"], o["foreign"]["port"]) == (lport, rport):
                return o["rate"] and o["rate"][what]
        return None
    sent = sorted(rate(d, 46401, 7005, "sent") or 0 for d in docs[1:])
    recv = sorted(rate(d, 7005, 46401, "received") or 0 for d in docs[1:])
    slow_sent = sorted(rate(d, 46402, 7005, "sent") or 0 for d in docs[1:])
    for what, got, want in (("sender's send rate", sent, pace),
                            ("receiver's receive rate", recv, pace),
                            ("slow sender's", slow_sent, pace // 10)):
        median = (got[1] + got[2]) / 2
        c.ok(abs(median - want) <= 0.2 * want,
             "rates: the %s is %d B/s, within 20%% of %d (each refresh: %s)"
             % (what, median, want, got))
    c.ok(all(d["sent"] >= rate(d, 46401, 7005, "sent") and
             d["received"] >= rate(d, 7005, 46401, "received")
             for d in docs[1:]), "rates: the totals hold every rate")
    c.ok(docs[0]["sent"] is None and all(o["rate"] is None
                                         for o in docs[0]["sockets"]),
         "rates: none in the first refresh: nothing to compare with")
    order = [[(o["local"]["port"], o["foreign"]["port"]) for o in d["sockets"]]
             for d in docs[1:]]
    c.ok(all(o[:2] in ([(46401, 7005), (7005, 46401)],
                       [(7005, 46401), (46401, 7005)]) and
             sorted(o[2:4]) == [(7005, 46402), (46402, 7005)] and
             o[4] == (7005, None) for o in order),
         "--sort rate: the fast pair, the slow pair, the listener (0 B/s) "
         "last", repr(order))
    snaps = re.split(r"^\d{4}-\d\d-\d\dT.*\n", text, flags=re.M)[1:]
    last = snaps[-1]
    ports = [l.split()[1] for l in last.splitlines()
             if l.startswith("  TCP")]
    c.ok(len(snaps) == 3 and sorted(ports[:2]) == ["127.0.0.1:46401",
                                                    "127.0.0.1:7005"] and
         ports[-1] == "127.0.0.1:7005" and "Send/s" in last,
         "--sort rate in a pipe: the fast connection first", text)
    cell = column_cells(last, "Send/s").get(("127.0.0.1:46401",
                                            "127.0.0.1:7005"), "")
    c.ok(re.match(r"^\d+(\.\d+)?[kM]?$", cell) is not None and
         abs(parse_si(cell) - pace) <= 0.2 * pace,
         "the table's Send/s cell is within 20%% of 1.00M: %s" % cell)


def header_totals(c, runs):
    """The header's sent and received are the sums of the connections'
    send and receive rates, each of its own counter: the senders' ends
    received nothing, the receivers' ends sent nothing."""
    for what, (rc, out, err) in sorted(runs.items()):
        docs = [json.loads(l) for l in out.splitlines()]
        c.eq((rc, err, len(docs)), (0, "", 4), "totals, %s' ends: 4 lines, exit 0" % what)
        sums = [(d["sent"], d["received"],
                 sum(o["rate"]["sent"] for o in d["sockets"] if o["rate"]),
                 sum(o["rate"]["received"] for o in d["sockets"] if o["rate"]))
                for d in docs[1:]]
        busy = 1 if what == "receivers" else 0
        c.ok(all(t[0] == t[2] and t[1] == t[3] for t in sums) and
             all(t[1 - busy] == 0 for t in sums) and
             sorted(t[busy] for t in sums)[1] > 100000,
             "totals, %s' ends: the header's sent and received are the sums "
             "of the rates, the %s only (sent, received, their sums: %s)"
             % (what, "received" if busy else "sent", sums))


# ---------------------------------------------------------------------------
# 7. the time between refreshes

def interval_kept(c, binary):
    """N refreshes take N - 1 intervals, whole seconds and milliseconds
    both: a refresh starts no earlier than its time, counted from the
    first.  The upper bound is loose: a loaded machine may be late."""
    runs = []
    for secs, n in ((0.5, 5), (1.2, 3)):
        runs.append((secs, n, time.monotonic(), common.start_portview(
            binary, ["-n", "--json", str(secs), "--count", str(n), "--port", "7000"])))
    for secs, n, t0, p in runs:
        rc, out, err = finish(p, 60)
        took = time.monotonic() - t0
        docs = [json.loads(l) for l in out.splitlines()]
        stamps = [datetime.datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
                  for d in docs]
        span = (stamps[-1] - stamps[0]).total_seconds() if stamps else 0
        want = (n - 1) * secs
        c.ok(rc == 0 and err == "" and len(docs) == n and
             all(d["interval"] == secs for d in docs) and
             span >= want - 0.01 and took >= want and took < want + 30,
             "%s s --count %d: %d refreshes over %.3f s (the run %.2f s), at "
             "least %.1f s" % (secs, n, len(docs), span, took, want), out + err)


def main():
    common.enter_netns()
    binary = common.require_portview()
    c = common.Checker()
    w = common.World()
    h = w.holder("pv-watch")
    try:
        lst = w.tcp_listen(h, "127.0.0.1", 7000)
        w.tcp_connect(h, "127.0.0.1", 46000, lst, "127.0.0.1")
        pipe_snapshots(c, binary, w)
        ndjson_changes(c, binary, w, h)
        terminal_redraw(c, binary, w, h)
        colour_on_screen(c, binary, w, h)
        same_sockets(c, binary)
        interval_kept(c, binary)
        info_counts(c, binary, w, h)
        rates(c, binary, w, h)
    finally:
        w.stop()
    c.finish()


if __name__ == "__main__":
    main()

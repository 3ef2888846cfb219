#!/usr/bin/env python3
"""portview --top, the live screen, driven in tmux (send-keys,
capture-pane) on sockets this test opens in a private network namespace.

1. At 80x24 without colour: a connection the test opens appears marked
   '+', then unmarked after --highlight; one it closes is marked '-',
   then gone; a dual-stack connection ([::ffff:127.0.0.1]) fits: no
   captured line wider than the pane, cut cells end with the ellipsis,
   Send/s and Recv/s whole.
2. '/--dport N' narrows the rows to those N; a bad filter leaves its
   error in the status line and the old rows; an empty one shows all.
3. Enter shows the details (the owner's PID and command line, tcp_info,
   what --lookup says of the service's port);
   'p' the per-process view, with the note that UDP is not counted.
4. 'k' asks before closing (naming the connection); anything but 'y'
   closes nothing; 'y' closes it (its peer reads a reset) and its row
   is marked closed; 'K' then 'y' ends a process the test started.
5. 'q' ends it with status 0 and the terminal as it was: the normal
   screen, the cursor shown, echo on (stty).
6. At 200x50: sorting by each column (s) orders the rows by it, 'r'
   reverses; SIGTERM ends it with status 0 and the terminal put back;
   + and - change the interval; the selection follows its socket when
   the order changes.
7. SIGSEGV (status 139, --top and the interval display) and SIGHUP
   (status 0): the terminal put back.
8. 300 refreshes (--count; 100 without the sanitizers) with keys
   pressed between them (sort, filter, details, per process, scrolling)
   end cleanly (the sanitizers' build: no report); --by-process opens on
   the per-process view.  The same
   under valgrind's memcheck (valgrind_refreshes: not in the default
   run, it_top_valgrind runs it).
9. 'p' sums a transfer at a known pace (1 MB/s) onto its sending and
   its receiving program, within 20% (the median of five refreshes).
10. Resizing the pane (200x40 to 80x24 and back) redraws --top and the
   interval display at once at the new size (their next refresh is 10 s
   away), no line wider than the pane.
11. The interval display on a terminal (-no 0.5) at 80x24: more rows
   than fit, End, Home, j and PgDn scroll them (the status line says
   which), + and - the interval, space pauses, ? helps, q ends it with
   the terminal put back and the last refresh printed.

test_top.py PART... runs only those parts (by their function's name).

Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ELLIPSIS = "\u2026"


class Tmux:
    def __init__(self, cols, rows, command):
        self.sock = "pv-top-%d-%s" % (os.getpid(), os.urandom(6).hex())
        self.cols, self.rows = cols, rows
        subprocess.run(["tmux", "-L", self.sock, "new-session", "-d", "-x",
                        str(cols), "-y", str(rows), command], check=True)

    def screen(self, history=False):
        r = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p"] +
                           (["-S", "-"] if history else []),
                           stdout=subprocess.PIPE, check=True)
        lines = [l.rstrip() for l in r.stdout.decode().split("\n")]
        return lines[:-1] if lines and lines[-1] == "" else lines

    def display(self, fmt):
        r = subprocess.run(["tmux", "-L", self.sock, "display-message", "-p",
                            fmt], stdout=subprocess.PIPE, check=True)
        return r.stdout.decode().strip()

    def selected(self):
        """The line shown in reverse video (the selection), as text."""
        r = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p",
                            "-e"], stdout=subprocess.PIPE, check=True)
        for line in r.stdout.decode().split("\n")[2:-3]:
            if re.search(r"\x1b\[[0-9;]*\b7m", line):
                return re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip()
        return None

    def keys(self, *k):
        subprocess.run(["tmux", "-L", self.sock, "send-keys"] + list(k),
                       check=True)

    def type(self, text):
        subprocess.run(["tmux", "-L", self.sock, "send-keys", "-l", "--", text],
                       check=True)

    def wait(self, cond, what, timeout=15):
        last = [[]]

        def ok():
            last[0] = self.screen()
            return cond(last[0])
        try:
            common.wait_until(ok, what, timeout)
            return last[0]
        except RuntimeError as e:
            raise RuntimeError("%s; the screen:\n%s" % (e, "\n".join(last[0])))

    def portview_pid(self):
        pane = self.display("#{pane_pid}")
        out = subprocess.run(["pgrep", "-P", pane, "-x", "portview"],
                             stdout=subprocess.PIPE).stdout.split()
        return int(out[0]) if out else None

    def resize(self, cols, rows):
        subprocess.run(["tmux", "-L", self.sock, "resize-window", "-x",
                        str(cols), "-y", str(rows)], check=True)
        self.cols, self.rows = cols, rows

    def ended(self, what):
        """Wait for the shell's lines after portview: its status, stty's."""
        return self.wait(lambda s: any(l.startswith("rc=") for l in s) and
                         any(l.strip() in ("echo", "-echo") for l in s),
                         what)

    def restored(self, end, rc):
        """The exit status, and the terminal as it was before portview."""
        return ("rc=%d" % rc in end and "echo" in [l.strip() for l in end]
                and self.display("#{alternate_on}") == "0" and
                self.display("#{cursor_flag}") == "1")

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       stderr=subprocess.DEVNULL)


def table(screen):
    """The table's rows: between the titles (line 1) and the status line."""
    return [l for l in screen[2:-2] if l.strip()]


def command(binary, args):
    # the shell's terminal afterwards: echo on or off, as stty says
    return ("env LANG=C.UTF-8 TERM=screen %s %s; echo rc=$?; "
            "stty -a | tr ' ' '\\n' | grep -x -- '-*echo'; sleep 60"
            % (binary, args))


def listen(port, family=socket.AF_INET, addr="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    s.listen(16)
    return s


def connect(lst_port, cport, addr="127.0.0.1", lst=None):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind((addr, cport))
    c.connect((addr, lst_port))
    s = lst.accept()[0] if lst else None
    return c, s


def set_filter(t, text):
    """The '/' filter replaced by text, Enter pressed."""
    t.keys("/", "C-u")
    t.type(text)
    t.keys("Enter")


def refused_filter(t, text, what):
    """set_filter, then the screen once its error is in the prompt's place."""
    set_filter(t, text)
    # (the prompt shows what is typed: wait until it has gone)
    return t.wait(lambda s: text in s[-2] and
                  "filter (as the options" not in s[-2], what)


def small_screen(c, binary):
    lst = listen(7100)
    dual = listen(7101, socket.AF_INET6, "::")
    keep = [connect(7100, 46200, lst=lst), connect(7101, 46201, lst=dual)]
    t = Tmux(80, 24, command(binary, "--top -n --interval 0.5 "
                             "--highlight 1.5 --color=never"))
    try:
        first = t.wait(lambda s: any("127.0.0.1:46200" in l for l in s),
                       "the first refresh with the test's connection")
        c.ok(first[0].startswith("portview --top") or
             re.match(r"\d\d:\d\d:\d\d", first[0]),
             "80x24: the header line first", first[0])
        c.ok("Send/s" in first[1] and "Recv/s" in first[1],
             "80x24: the rate columns are there, whole", "\n".join(first))

        new = connect(7100, 46202, lst=lst)
        got = t.wait(lambda s: any(l.startswith("+ ") and ":46202" in l
                                   for l in s), "the new connection marked +")
        c.ok(sum(1 for l in table(got) if ":46202" in l and
                 l.startswith("+ ")) == 2,
             "80x24: both ends of a new connection marked +")
        t.wait(lambda s: any(":46202" in l and l.startswith("  ")
                             for l in s) and
               not any(":46202" in l and l.startswith("+") for l in s),
               "the mark gone after --highlight")
        c.ok(True, "80x24: the mark goes after --highlight")

        for s in new:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        t.wait(lambda s: any(l.startswith("- ") and ":46202" in l
                             for l in s), "the closed connection marked -")
        t.wait(lambda s: not any(":46202" in l for l in s),
               "the closed connection gone")
        c.ok(True, "80x24: a closed connection marked -, then gone")

        scr = t.screen()
        wide = [l for l in scr if len(l) > 80]
        c.ok(not wide, "80x24: no line wider than the pane", "\n".join(wide))
        # the last cell whole on every row, the cut ones as wide as the pane
        c.ok(scr[1].endswith("Recv/s") and
             all(re.search(r" (-|[\d.]+[kMG]?)$", l) for l in table(scr)),
             "80x24: every row ends with its Recv/s cell",
             "\n".join(scr))
        mapped = [l for l in table(scr) if "[::ffff:" in l or
                  (ELLIPSIS in l and "7101" not in l)]
        c.ok(any(ELLIPSIS in l for l in table(scr)) or
             any("[::ffff:127.0.0.1]:7101" in l for l in table(scr)),
             "80x24: the dual-stack address whole or cut with an ellipsis",
             "\n".join(scr))
        (mapped,)  # noqa: B018

        # 2. the filter
        t.keys("/")
        t.type("--dport 7100")
        t.keys("Enter")
        got = t.wait(lambda s: table(s) and
                     all(re.search(r":7100\s", l) and "46200" in l
                         for l in table(s)), "only --dport 7100's rows")
        c.ok(len(table(got)) == 1 and "127.0.0.1:46200" in table(got)[0],
             "filter: /--dport 7100 narrows to the one client end",
             "\n".join(got))
        bad = refused_filter(t, "--dport 99999",
                             "the bad filter's error in the status line")
        c.ok("--dport 99999: port out of range (0-65535)" in bad[-2],
             "filter: a bad one says why, as the option would", bad[-2])
        c.eq(table(bad), table(got), "filter: a bad one keeps the old rows")
        # a /REGEX/ filter, then one whose expression does not compile: the
        # first one goes on, its expression not freed under it
        set_filter(t, "--command /^pyth/ --dport 7100")
        t.wait(lambda s: "filter: --command /^pyth/" in s[-2] and
                    len(table(s)) == 1 and "127.0.0.1:46200" in table(s)[0],
                    "the one row /^pyth/ and --dport 7100 leave")
        bad = refused_filter(t, "--command /[/",
                             "the bad expression's error in the status line")
        c.ok("--command /[/: not a regular expression" in bad[-2],
             "filter: an expression that does not compile says so", bad[-2])
        time.sleep(1.5)  # three refreshes
        later = t.screen()
        c.ok(later[0] != bad[0] and len(table(later)) == 1 and
             "127.0.0.1:46200" in table(later)[0],
             "filter: after it, the /REGEX/ filter before still refreshes its "
             "row", "\n".join(later))
        t.keys("/", "C-u", "Enter")
        t.wait(lambda s: any("46201" in l for l in table(s)),
               "every socket again after an empty filter")
        c.ok(True, "filter: an empty one shows every socket")

        # 3. details and the per-process view
        set_filter(t, "--sport 46200")
        t.wait(lambda s: len(table(s)) == 1, "the one row of --sport 46200")
        t.keys("Enter")
        det = t.wait(lambda s: any(l.startswith("Owner") for l in s),
                     "the details")
        text = "\n".join(det)
        c.ok("PID %d" % os.getpid() in text and
             re.search(r"command \S*python3 /", text) and
             "rtt" in text and "Send/s" in text and "Port 7100" in text and
             "Class:" in text,
             "details: the owner's PID and command line, tcp_info, the "
             "rates' sparkline", text)
        t.keys("Escape")
        t.keys("p")
        per = t.wait(lambda s: "Sockets" in s[1], "the per-process view")
        c.ok("UDP traffic is not counted" in "\n".join(per) and
             any(l.split()[0:1] == ["python3"] for l in table(per)),
             "p: one row per program, and the note on UDP", "\n".join(per))
        t.keys("p")

        # 4. k asks first; K ends a process
        t.keys("k")
        ask = t.wait(lambda s: "[y/N]" in s[-2], "k's prompt")
        c.ok(re.search(r"close 127\.0\.0\.1:46200 -> 127\.0\.0\.1:7100 held "
                       r"by \d+/python3\? \[y/N\]", ask[-2]) is not None,
             "k: the prompt names the connection and its holder", ask[-2])
        t.keys("n")
        t.wait(lambda s: "not closed" in s[-2], "k then n: not closed")
        c.ok(keep[0][0].fileno() >= 0 and
             len(table(t.screen())) == 1, "k then n: nothing closed")
        t.keys("k")
        t.wait(lambda s: "[y/N]" in s[-2], "k's prompt again")
        t.keys("y")
        # (the prompt names the connection too: wait until it has gone)
        done = t.wait(lambda s: "[y/N]" not in s[-2] and (
            "closed" in s[-2] or "127.0.0.1:46200" in s[-2]),
            "k then y: the result in the status line")
        peer = keep[0][1]
        peer.settimeout(5)
        try:
            got = peer.recv(10)
            reset = "read %r" % got
        except ConnectionResetError:
            reset = "reset"
        except OSError as e:
            reset = str(e)
        c.ok(done[-2].startswith("closed 127.0.0.1:46200 -> 127.0.0.1:7100")
             and reset == "reset",
             "k then y: the connection closed, its peer reads a reset",
             "%s\n%s" % (done[-2], reset))
        # its process, told ECONNABORTED, lets it go: the row is closed
        keep[0][0].close()
        t.wait(lambda s: any(l.startswith("- ") and ":46200" in l
                             for l in table(s)), "the closed connection "
               "marked -")
        c.ok(True, "k then y: the row marked closed")

        victim = subprocess.Popen(
            [sys.executable, "-c", "import socket,time\n"
             "s=socket.socket(); s.bind(('127.0.0.1', 7199)); s.listen()\n"
             "print('ok', flush=True); time.sleep(60)"],
            stdout=subprocess.PIPE)
        victim.stdout.readline()
        t.keys("/", "C-u")
        t.type("--sport 7199")
        t.keys("Enter")
        t.wait(lambda s: len(table(s)) == 1 and ":7199" in table(s)[0],
               "the victim's listener")
        t.keys("K")
        t.wait(lambda s: "SIGTERM? [y/N" in s[-2], "K's prompt")
        t.keys("y")
        common.wait_until(lambda: victim.poll() is not None,
                          "the process K ended")
        c.ok(victim.returncode == -signal.SIGTERM,
             "K then y: SIGTERM ends the process", str(victim.returncode))

        # 5. q: the terminal as it was
        t.keys("q")
        end = t.wait(lambda s: any(l.startswith("rc=") for l in s) and
                     any(l.strip() in ("echo", "-echo") for l in s),
                     "portview ended and stty answered")
        c.ok("rc=0" in end, "q: exit status 0", "\n".join(end))
        c.ok("echo" in [l.strip() for l in end],
             "q: echo on again (stty)", "\n".join(end))
        c.eq((t.display("#{alternate_on}"), t.display("#{cursor_flag}")),
             ("0", "1"), "q: the normal screen, the cursor shown")
    finally:
        t.close()
        for pair in keep:
            for s in pair:
                if s:
                    s.close()
        lst.close()
        dual.close()


def sort_key(title, cell):
    if title in ("Send/s", "Recv/s", "RTT ms"):
        if cell == "-":
            return -1
        m = re.match(r"([\d.]+)([kMG]?)", cell)
        return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[
            m.group(2)] if m else -1
    if title == "PID":
        return int(cell.split()[0]) if cell[:1].isdigit() else 1 << 40
    if title == "Local Address":
        host, _, port = cell.rpartition(":")
        return (socket.inet_aton(host) if "." in host else b"", int(port))
    if title == "Proto":
        return cell
    return cell


def columns(title_line):
    """Each title's start, from the titles line."""
    return [(m.start(), m.group(1)) for m in
            re.finditer(r"(Proto|Local Address|Foreign Address|State|PID|"
                        r"Program|Send/s|Recv/s|RTT ms)", title_line)]


RIGHT = ("PID", "Send/s", "Recv/s", "RTT ms")
ONE_WORD = ("Proto", "Local Address", "Foreign Address", "State")


def cells(line, cols):
    """Each column's text in one row.  A right-aligned value may be wider
    than its title and reach to the left of it: a PID with more holders
    ("1 (+1)": say, a child between fork and exec) starts under the end
    of State.  So a right-aligned cell is read from the start of the
    column before it, and a column of one word keeps its first word."""
    out = {}
    for i, (start, title) in enumerate(cols):
        end = cols[i + 1][0] if i + 1 < len(cols) else len(line)
        if title in RIGHT:
            text = line[cols[i - 1][0] + 1 if i else 0:end].rstrip()
            m = re.search(r"(\d+ \(\+\d+\)|\S+)$", text)
            out[title] = m.group(1) if m else ""
        else:
            text = line[start:end].strip()
            out[title] = (text.split() or [""])[0] if title in ONE_WORD \
                else text
    return out


def big_screen(c, binary):
    lst = listen(7200)
    keep = [connect(7200, p, lst=lst) for p in (46301, 46303, 46302)]
    t = Tmux(200, 50, command(binary, "--top -n --interval 0.5"))
    try:
        t.wait(lambda s: sum(1 for l in s if ":7200" in l) >= 7,
               "the listener and three connections")
        t.keys(" ")  # paused: the same rows under each order
        sorted_ok = []
        for _ in range(9):
            t.keys("s")
            time.sleep(0.2)
            scr = t.wait(lambda s: "sorted by" in s[-2], "sorted")
            title = re.search(r"sorted by (.*?)(, reversed)?$", scr[-2]).group(1)
            cols = columns(scr[1])
            rows = [cells(l, cols) for l in table(scr)]
            keys = [sort_key(title, r.get(title, "")) for r in rows]
            desc = title in ("Send/s", "Recv/s", "RTT ms")
            want = sorted(keys, reverse=desc)
            if title in ("Send/s", "Recv/s", "RTT ms", "PID", "Proto",
                         "Local Address", "State", "Program",
                         "Foreign Address") and len(rows) >= 7:
                sorted_ok.append((title, keys == want))
        c.ok(len(sorted_ok) == 9 and all(ok for _, ok in sorted_ok),
             "200x50: sorting by each column orders the rows by it",
             repr(sorted_ok))
        # Local Address reversed: r
        while "sorted by Local Address" not in t.screen()[-2]:
            t.keys("s")
            time.sleep(0.1)
        before = [cells(l, columns(t.screen()[1]))["Local Address"]
                  for l in table(t.screen())]
        t.keys("r")
        scr = t.wait(lambda s: "reversed" in s[-2], "reversed")
        after = [cells(l, columns(scr[1]))["Local Address"]
                 for l in table(scr)]
        c.ok(after == sorted(after, key=lambda x: sort_key("Local Address", x),
                             reverse=True) and before != after,
             "200x50: r reverses the order", "%r\n%r" % (before, after))
        wide = [l for l in scr if len(l) > 200]
        c.ok(not wide, "200x50: no line wider than the pane")
        # the selection follows its socket: down to the third row, then sort
        t.keys("Home", "j", "j")
        sel = t.wait(lambda s: t.selected() and t.selected() == table(s)[2],
                     "the third row selected")[2:]
        chosen = t.selected()
        t.keys("r")
        t.wait(lambda s: s[-2] == "sorted by Local Address", "sorted again")
        after = table(t.screen())
        c.ok(t.selected() == chosen and after.index(chosen) != 2,
             "200x50: the selection follows its socket to its new place",
             "%r\n%s" % (chosen, "\n".join(after)))
        (sel,)  # noqa: B018
        # End, Home, PgDn and PgUp move the selection (a page is more
        # than these rows: the last, the first)
        moved = []
        for key, at in (("End", -1), ("Home", 0), ("PgDn", -1), ("PgUp", 0)):
            t.keys(key)
            scr = t.wait(lambda s: t.selected() == table(s)[at],
                         "%s: the selection on row %d" % (key, at))
            moved.append(key)
        c.eq(moved, ["End", "Home", "PgDn", "PgUp"],
             "200x50: End, Home, PgDn, PgUp move the selection")
        # ? lists every key
        t.keys("?")
        help_ = "\n".join(t.wait(lambda s: "Keys" in "\n".join(s),
                                 "?: the help"))
        missing = [k for k in ("Down, j", "Up", "PgDn, PgUp", "Home, End",
                               "s or >, <", "r  reverse", "/ ", "n ", "p ",
                               "Enter", "space", "+, -", "k ", "K ",
                               "q, Ctrl-C", "Escape")
                   if k not in help_]
        c.ok(not missing, "200x50: ? lists every key", "missing %r in\n%s"
             % (missing, help_))
        t.keys("x")
        t.wait(lambda s: "Proto" in s[1], "any key: the rows again")
        t.keys("+")
        longer = t.wait(lambda s: "every" in s[-2], "+'s answer")[-2]
        t.keys("-")
        shorter = t.wait(lambda s: s[-2] != longer, "-'s answer")[-2]
        c.eq((longer, shorter), ("every 1 s", "every 0.5 s"),
             "+ and -: a longer, a shorter interval")
        # going on: the refresh thread sorts each new frame as asked
        while "sorted by State" not in t.screen()[-2]:
            t.keys("s")
            time.sleep(0.1)
        def clock(line):
            m = re.search(r"\d\d:\d\d:\d\d", line)
            return m.group(0) if m else None
        before = clock(t.screen()[0])
        t.keys("Space")
        # a frame of a later second: the header without PAUSED alone is
        # the old frame drawn again
        scr = t.wait(lambda s: clock(s[0]) not in (before, None) and
                     "Proto" in s[1], "a new frame after space")
        states = [cells(l, columns(scr[1]))["State"] for l in table(scr)]
        c.ok(states == sorted(states) and "LISTENING" in states,
             "200x50: a new frame sorted by State, as asked",
             "%r\n%s" % (states, "\n".join(scr)))

        pid = t.portview_pid()
        os.kill(pid, signal.SIGTERM)
        end = t.wait(lambda s: any(l.startswith("rc=") for l in s) and
                     any(l.strip() in ("echo", "-echo") for l in s),
                     "portview ended by SIGTERM")
        c.ok("rc=0" in end and "echo" in [l.strip() for l in end] and
             t.display("#{alternate_on}") == "0" and
             t.display("#{cursor_flag}") == "1",
             "SIGTERM: status 0, the terminal put back", "\n".join(end))
    finally:
        t.close()
        for pair in keep:
            for s in pair:
                s.close()
        lst.close()


def crash(c, binary):
    """SIGSEGV and SIGHUP sent to it: the terminal put back (before it dies
    of a SIGSEGV), for --top and for the interval display."""
    for args, sig, rc, ready in (
            ("--top -n --interval 0.5", signal.SIGSEGV, 139,
             lambda s: "Proto" in s[1]),
            ("--top -n --interval 0.5", signal.SIGHUP, 0,
             lambda s: "Proto" in s[1]),
            ("-no 0.5", signal.SIGSEGV, 139,
             lambda s: len(s) > 2 and "Proto" in s[2])):
        t = Tmux(100, 30, command(binary, args))
        try:
            t.wait(ready, "the first refresh of %s" % args)
            os.kill(t.portview_pid(), sig)
            end = t.ended("portview ended by %s" % sig.name)
            c.ok(t.restored(end, rc),
                 "%s: %s ends it (status %d), the terminal put back"
                 % (args.split()[0], sig.name, rc), "\n".join(end))
        finally:
            t.close()


# Keys for the long runs: each batch one send-keys; a batch with n asks
# for a refresh at once (the next n turns names back), so that refreshes
# come faster than --interval's 0.1 s.  Sort, reverse, per process,
# details, help, filters (a /REGEX/ filter twice: the first one's regex
# is freed, which LSan and memcheck check), scrolling, the interval.
BATCHES = [["s", "n"], ["s", "n"], ["r", "n"], ["p", "n"], ["s", "n"],
           ["p", "n"], ["Enter", "n"], ["Escape", "n"], ["?", "x", "n"],
           ["/"], "--dport 7300", ["Enter", "n"], ["/", "C-u"],
           "--command /py/", ["Enter", "n"], ["/", "C-u"], "--command /py/",
           ["Enter", "n"], ["/", "C-u", "Enter", "n"], ["End", "n"],
           ["Home", "n"], ["PgDn", "n"], ["PgUp", "n"], ["+", "n"],
           ["-", "n"]]


def exit_status(t):
    """The status the shell said (rc=N), a key echoed after the end or not."""
    for line in t.screen(history=True):
        m = re.search(r"rc=(\d+)$", line)
        if m:
            return int(m.group(1))
    return None


# The interval display's keys: scrolling, help, pause and on again, the
# interval (the rows of listen(7300) and its 30 connections: some to scroll)
WATCH_BATCHES = [["j"], ["k"], ["End"], ["Home"], ["PgDn"], ["PgUp"], ["?"],
                 ["x"], ["Space", "Space"], ["+"], ["-"], ["G"], ["g"]]


def press_until_done(t, seconds, pid, batches=BATCHES):
    """batches over and over until process pid ends; the rounds."""
    rounds = 0
    deadline = time.monotonic() + seconds
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        rounds += 1
        for k in batches:
            # once it has ended, keys would go to the shell
            if not os.path.exists("/proc/%d" % pid):
                break
            if isinstance(k, str):
                t.type(k)
            else:
                t.keys(*k)
    return rounds


def many_refreshes(c, binary):
    """300 refreshes with keys pressed between them under the sanitizers
    (n asks for a refresh at once, so that they come faster than
    --interval's 0.1 s); 100 without them, which would see no more in
    the other 200 (memcheck runs 300: valgrind_refreshes)."""
    count = 300 if os.environ.get("PORTVIEW_SANITIZED") == "1" else 100
    lst = listen(7300)
    keep = [connect(7300, 46400, lst=lst)]
    t = Tmux(120, 30, command(binary, "--top --by-process -n --interval 0.1 "
                              "--count %d" % count))
    try:
        first = t.wait(lambda s: any(l.startswith("  python3") for l in s),
                       "the first refresh, per process")
        c.ok(first[1].split()[:3] == ["Program", "PID", "Sockets"],
             "--by-process: the per-process view first", first[1])
        rounds = press_until_done(t, common.scaled(90), t.portview_pid())
        t.wait(lambda s: exit_status(t) is not None,
               "the %dth refresh's end" % count, timeout=60)
        text = "\n".join(t.screen(history=True))
        c.ok(exit_status(t) == 0 and "Sanitizer" not in text and
             "runtime error" not in text,
             "%d refreshes with keys between them (%d rounds of %d "
             "batches): status 0, no sanitizer report"
             % (count, rounds, len(BATCHES)),
             text[-2000:])
    finally:
        t.close()
        for pair in keep:
            for s in pair:
                s.close()
        lst.close()


def valgrind_refreshes(c, binary):
    """Refreshes with keys between them under valgrind's memcheck: no
    error, no definite or indirect leak; 300 of --top, 30 of the interval
    display (not in the default run: about half a minute; it_top_valgrind)."""
    if os.environ.get("PORTVIEW_SANITIZED") == "1" or \
            not shutil.which("valgrind"):
        # (run by name only: the whole test is then skipped)
        print("SKIP: valgrind_refreshes: a sanitizer build, or no valgrind")
        sys.exit(77)
    lst = listen(7300)
    keep = [connect(7300, 46400 + i, lst=lst) for i in range(15)]
    log = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                       "pv-top-valgrind-%d.log" % os.getpid())
    vg = " ".join(common.VALGRIND + ["--log-file=" + log])
    runs = (("--top --by-process -n --interval 0.1 --count 300", 300, BATCHES,
             lambda s: any(l.startswith("  python3") for l in s)),
            ("-no --port 7300 0.1 --count 30", 30, WATCH_BATCHES,
             lambda s: len(s) > 2 and "Proto" in s[2]))
    try:
        for args, count, batches, ready in runs:
            t = Tmux(120, 30, command(vg + " " + binary, args))
            try:
                t.wait(ready, "the first refresh under valgrind", timeout=60)
                pane = t.display("#{pane_pid}")
                pid = int(subprocess.run(["pgrep", "-P", pane],
                                         stdout=subprocess.PIPE
                                         ).stdout.split()[0])
                rounds = press_until_done(t, common.scaled(150), pid, batches)
                t.wait(lambda s: exit_status(t) is not None,
                       "the end under valgrind", timeout=60)
                with open(log) as f:
                    report = common.UNHANDLED_BPF.sub("", f.read())
                c.ok(exit_status(t) == 0 and report == "",
                     "valgrind: %s: %d refreshes with keys between them (%d "
                     "rounds): status 0, no error or leak"
                     % (args.split()[0], count, rounds), report[-3000:])
            finally:
                t.close()
    finally:
        for pair in keep:
            for s in pair:
                s.close()
        lst.close()
        if os.path.exists(log):
            os.unlink(log)


def resize(c, binary):
    """Resizing the pane redraws at once at the new size, for --top and for
    the interval display: the next refresh is 10 s away, so only SIGWINCH
    can redraw before it."""
    lst = listen(7500)
    keep = [connect(7500, 46600 + i, lst=lst) for i in range(3)]
    cases = (("--top -n --interval 10", 1, "RTT ms", "n names"),
             ("-no --port 7500 10", 2, "Foreign Port", "arrows scroll"))
    try:
        for args, title, wide_only, last_key in cases:
            t = Tmux(200, 40, command(binary, args))
            try:
                t.wait(lambda s: len(s) >= 40 and wide_only in s[title] and
                       s[39].endswith(last_key), "%s at 200x40" % args)
                for cols, rows in ((80, 24), (200, 40)):
                    start = time.monotonic()
                    t.resize(cols, rows)

                    def drawn(s):
                        # the footer on the new last line, the titles as
                        # wide as the new width allows
                        return (len(s) == rows and
                                s[-1].startswith("q quit  ? help") and
                                (wide_only in s[title]) == (cols == 200))
                    scr = t.wait(drawn, "%s redrawn at %dx%d" % (args, cols,
                                                                 rows),
                                 timeout=common.scaled(8))
                    took = time.monotonic() - start
                    wide = [l for l in scr if len(l) > cols]
                    c.ok(not wide and took < 8,
                         "%s: resized to %dx%d, redrawn in %.2f s, no line "
                         "wider" % (args.split()[0], cols, rows, took),
                         "\n".join(scr))
            finally:
                t.close()
    finally:
        for pair in keep:
            for s in pair:
                s.close()
        lst.close()


def watch_keys(c, binary):
    """The interval display's keys at 80x24: more rows than fit, scrolled;
    + and -; space pauses; ? helps; q ends it with the terminal put back
    and the last refresh printed."""
    lst = listen(7600)
    keep = [connect(7600, 46700 + i, lst=lst) for i in range(12)]
    t = Tmux(80, 24, command(binary, "-no --port 7600 0.5"))
    try:
        scr = t.wait(lambda s: len(s) >= 24 and "rows 1-19 of 25" in s[22],
                     "the first refresh, 19 of its 25 rows shown")
        c.ok(scr[2].split()[:2] == ["Proto", "Local"] and
             scr[23].startswith("q quit") and
             len([l for l in scr[3:22] if ":7600" in l]) == 19,
             "interval: the titles, 19 rows, the status and the keys",
             "\n".join(scr))
        t.keys("End")
        scr = t.wait(lambda s: "rows 7-25 of 25" in s[22], "End: the last "
                     "page")
        ports = [l.split()[1] for l in scr[3:22]]
        c.ok(len(ports) == 19 and all(":" in p for p in ports),
             "interval: End shows the last 19 rows", "\n".join(scr))
        t.keys("Home", "j")
        t.wait(lambda s: "rows 2-20 of 25" in s[22], "Home then j: row 2 on")
        t.keys("PgDn")
        t.wait(lambda s: "rows 7-25 of 25" in s[22], "PgDn: the last page")
        c.ok(True, "interval: Home, j, PgDn, End scroll the rows")
        t.keys("+")
        t.wait(lambda s: s[22] == "every 1 s", "+: every 1 s")
        t.keys("-")
        t.wait(lambda s: s[22] == "every 0.5 s", "-: every 0.5 s")
        c.ok(True, "interval: + and - a longer and a shorter interval")
        t.keys("Space")
        paused = t.wait(lambda s: "paused" in s[22], "space: paused")
        time.sleep(1.5)  # three intervals: no refresh while paused
        c.eq(t.screen()[0], paused[0], "interval: space pauses the refreshes")
        t.keys("Space")
        t.wait(lambda s: s[0] != paused[0], "space again: refreshing again")
        t.keys("?")
        t.wait(lambda s: s[2] == "Keys", "?: the help")
        t.keys("x")
        t.wait(lambda s: "Proto" in s[2], "any key: the rows again")
        c.ok(True, "interval: space pauses and goes on, ? shows the help")
        # 40 columns: the header in its short form rather than cut
        t.resize(40, 24)
        scr = t.wait(lambda s: re.match(r"\d\d:\d\d:\d\d  25 sockets "
                                        r"\+0 ~0 -0$", s[0]),
                     "the short header at 40 columns")
        c.ok(all(len(l) <= 40 for l in scr),
             "interval: at 40 columns the header's short form, no line "
             "wider", "\n".join(scr))
        t.resize(80, 24)
        t.keys("q")
        end = t.ended("portview ended by q")
        at = end.index("rc=0") if "rc=0" in end else len(end)
        c.ok(t.restored(end, 0) and at >= 2 and
             end[at - 1].startswith("  ... ") and
             sum(1 for l in end[:at] if ":7600" in l) >= 15,
             "interval: q ends it with status 0, the terminal put back, "
             "the last refresh printed (the rows that fit, '... N more')",
             "\n".join(end))
    finally:
        t.close()
        for pair in keep:
            for s in pair:
                s.close()
        lst.close()


def parse_si(text):
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}
    if text and text[-1] in scale:
        return float(text[:-1]) * scale[text[-1]]
    return float(text) if text not in ("", "-") else -1


def per_process_rate(c, binary):
    """A transfer at a known pace summed onto its programs."""
    w = common.World()
    sender, sink = w.holder("pv-sender"), w.holder("pv-sink")
    lst = w.tcp_listen(sink, "127.0.0.1", 7400)
    cli, srv = w.tcp_connect(sender, "127.0.0.1", 46500, lst, "127.0.0.1")
    pace = 1000000  # bytes a second: 50,000 twenty times a second
    sink.cmd("drain", srv.sid)
    sender.cmd("pace", cli.sid, 50000, 20, 14)
    t = Tmux(120, 30, command(binary, "--top --by-process -n "
                              "--interval 0.5"))
    try:
        sends, recvs = [], []
        last = None
        deadline = time.monotonic() + common.scaled(20)
        while len(sends) < 5 and time.monotonic() < deadline:
            scr = t.screen()
            cols = {l.split()[0]: l.split() for l in table(scr) if l.split()}
            if scr[0] != last and "pv-sender" in cols and "pv-sink" in cols \
                    and parse_si(cols["pv-sender"][-2]) > 0:
                last = scr[0]
                sends.append(parse_si(cols["pv-sender"][-2]))
                recvs.append(parse_si(cols["pv-sink"][-1]))
            time.sleep(0.3)
        for what, got in (("sender's Send/s", sends), ("sink's Recv/s", recvs)):
            got = sorted(got)
            median = got[len(got) // 2] if got else 0
            c.ok(abs(median - pace) <= 0.2 * pace,
                 "p: the %s is %d B/s, within 20%% of %d (refreshes: %s)"
                 % (what, median, pace, got))
    finally:
        t.close()
        w.stop()


def japanese_keys(c, binary):
    """The key lines in Japanese, at 100 columns: translated, and as many
    keys as fit by display width (a CJK character takes two columns, three
    bytes: counting bytes drops the last keys)."""
    if subprocess.run(["locale", "-a"], stdout=subprocess.PIPE,
                      universal_newlines=True).stdout.find("ja_JP.utf8") < 0:
        c.ok(False, "the ja_JP.UTF-8 locale exists (scripts/setup.sh makes it)")
        return
    cases = (("--top -n", "q 終了  ? ヘルプ  / 絞り込み  s,<,> 並べ替え  r 逆順  "
              "p プロセス  Enter 詳細  k 閉じる"),
             ("-no 10", "q 終了  ? ヘルプ  space 一時停止  +,- 間隔  矢印 スクロール"))
    for args, keys in cases:
        t = Tmux(100, 20, command(binary, args).replace(
            "LANG=C.UTF-8", "LANG=ja_JP.UTF-8 LANGUAGE=ja"))
        try:
            scr = t.wait(lambda s: len(s) == 20 and s[-1].startswith("q "),
                         "%s in Japanese" % args)
            c.ok(scr[-1] == keys, "%s in Japanese: the keys at 100 columns"
                 % args.split()[0], "\n".join(scr))
        finally:
            t.close()


def refresh_source(c, binary):
    """--top's refreshes follow the kernel's change log where it loads
    (PORTVIEW_DEBUG says which refreshes did), and PORTVIEW_REFRESH=dump
    turns it off; a bad value is a usage error."""
    lst = listen(7390)
    conns = [connect(7390, 0, lst=lst) for _ in range(3)]

    def run(value):
        env = dict(os.environ, PORTVIEW_DEBUG="1", TERM="xterm")
        if value is None:
            env.pop("PORTVIEW_REFRESH", None)
        else:
            env["PORTVIEW_REFRESH"] = value
        rc, out = common.run_on_pty([binary, "--top", "-n", "--interval", "0.2",
                                     "--count", "4"], 120, env=env)
        return rc, out.decode(errors="replace")
    rc, out = run(None)
    lines = re.findall(r"^portview: debug: follow: (.*)$", out, re.M)
    if any("cannot load" in line for line in lines):
        print("# refresh_source: the change log cannot load here: %s" % lines[0])
        c.ok(rc == 0 and len(lines) == 1, "--top without the change log: one word of it",
             out[-2000:])
    else:
        c.ok(rc == 0 and len(lines) == 4 and lines[0].startswith("a full dump (first)")
             and all(re.match(r"\d+ changes applied, \d+ sockets asked for again, "
                              r"\d+ followed(; the bind hash walked)?$", line)
                     for line in lines[1:]),
             "--top: the first refresh dumps, the next three follow the change log",
             "\n".join(lines) or out[-2000:])
    rc, out = run("dump")
    c.ok(rc == 0 and "debug: follow" not in out and "debug: TCP dump" in out,
         "PORTVIEW_REFRESH=dump: every refresh dumps", out[-2000:])
    env = dict(os.environ, PORTVIEW_REFRESH="nope")
    p = subprocess.run([binary, "--top"], env=env, capture_output=True, text=True)
    c.ok(p.returncode == 2 and p.stdout == "" and p.stderr ==
         "portview: PORTVIEW_REFRESH=nope: unknown value (valid: log, dump)\n",
         "PORTVIEW_REFRESH=nope: a usage error naming it", p.stderr)
    for a, b in conns:
        a.close()
        b.close()
    lst.close()


def main():
    common.enter_netns()
    binary = common.require_portview()
    if not shutil.which("tmux"):
        print("FAIL: tmux is installed (scripts/setup.sh lists it)")
        sys.exit(1)
    c = common.Checker()
    parts = (small_screen, big_screen, crash, many_refreshes,
             per_process_rate, resize, watch_keys, japanese_keys, refresh_source)
    # test_top.py [PART...]: only those (by their function's name), also
    # valgrind_refreshes, which the default run leaves out
    only = sys.argv[1:]
    for part in parts + (valgrind_refreshes,):
        if part not in parts and part.__name__ not in only:
            continue
        if only and part.__name__ not in only:
            continue
        start = time.monotonic()
        part(c, binary)
        print("# %s: %.1f s" % (part.__name__, time.monotonic() - start))
    # a terminal ncurses does not know: each refresh in full, as in a pipe
    rc, out = common.run_on_pty([binary, "-no", "0.2", "--count", "2"], 80,
                                env=dict(os.environ, TERM="pv-no-such-term"))
    out = out.decode()
    c.ok(rc == 0 and out.startswith(
        "portview: cannot draw on this terminal (TERM=pv-no-such-term): "
        "each refresh printed in full\n") and
        len(re.findall(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*sockets",
                       out, re.M)) == 2 and out.count("Active Connections") == 2,
        "-no 0.2 on an unknown terminal: a warning, then each refresh in "
        "full, dated", out)
    rc, _, err = common.run_portview(["--top"])
    c.ok(rc == 2 and "--top needs a terminal" in err,
         "--top in a pipe: a usage error", err)
    rc, _, err = common.run_portview(["--top", "--json"])
    c.ok(rc == 2 and "--json cannot be combined with --top" in err,
         "--top --json: a usage error", err)
    c.finish()


if __name__ == "__main__":
    main()

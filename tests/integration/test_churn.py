#!/usr/bin/env python3
"""Nothing lost under churn.

    test_churn.py [--buckets N]

In a private network namespace, four "stable" processes hold established
loopback TCP connections between them (each process holds the client ends
of its connections to the next process and the server ends of those from
the previous one).  Two churner processes open and close loopback
connections at half a core each (a batch of 32, then as long a
rest; one over IPv4, one over IPv6, on
addresses and ports the stable sockets do not use), during every run
(they are stopped while the test reads a run's output).
Then `portview -ano --json` runs 20 times in a row, every other one with
PORTVIEW_DUMP_THREADS=2 (the established hash's walk read on one thread
and parsed, its boundaries checked, on another).  In every run:

  * every stable socket appears exactly once (matched by local and foreign
    address and port), as ESTABLISHED, and its owners are exactly one
    descriptor of the process that holds it, under its name;
  * no socket at all appears twice: no cookie is repeated, and no
    (proto, family, local, foreign, state) is repeated but for BOUND ones
    (sockets in the kernel's bind hash may share addresses and ports: a
    churner's socket caught between its connect() and its close() is
    listed from there, with the same addresses as another);
  * portview exits 0 with an empty stderr (but for its debug lines).

Without --buckets the namespace shares the host's TCP hash (262,144
buckets here) and 5,000 connections are held: the dump's boundary check
is what keeps it complete.  With --buckets N the namespace gets a hash of
N buckets (net.ipv4.tcp_child_ehash_entries, set in an outer private
namespace), as container hosts configure them, and 2,000 connections are
held: buckets of dozens of sockets, where the kernel's walk pauses inside
buckets.  There the test first shows that it can see a loss: with
PORTVIEW_DUMP=once (no protection) some run must miss a stable socket
(asserted for N <= 128, where that happens in about every third run;
for larger N, where a loss is rarer, three runs only report what they
saw: a longer search would check nothing more, while the churners burn
both cores).  Then the default mode must lose none, and must have made
sure of it with a sliced second walk.

The churners count their connections; every run must overlap churn.

Under ASan (PORTVIEW_SANITIZED=1) the test has a budget: 8 runs instead
of 20, and no PORTVIEW_DUMP=once search (that shows the test can see a
loss); the sanitizer watches the same dump paths.  scripts/test's whole
run runs it_churn in both builds, and it_churn_128 and it_churn_1024 (20
runs and the search) unsanitized alone (tests/meson.build).

Exit status: 0 pass, 1 fail, 77 skip.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NPROC = 4                 # stable processes
PER_PROC = 1250           # connections each process opens (client side);
NCONN = NPROC * PER_PROC  # 500 with --buckets (main sets both)
RUNS = 20
ONCE_RUNS = 40            # at most, to see PORTVIEW_DUMP=once lose one
REPORT_RUNS = 3           # PORTVIEW_DUMP=once runs where a loss is only
                          # reported (more than 128 buckets)
SERVER_ADDR = "127.0.0.1"
CLIENT_ADDR = "127.0.0.2"
LISTEN_PORT0 = 7000       # process i listens on LISTEN_PORT0 + i
CLIENT_PORT0 = 10000      # process i's clients use CLIENT_PORT0 + i*PER_PROC + j
CHURN_V4 = "127.0.0.3"
CHURN_V6 = "::1"
CHURN_PORT = 9000

# A stable process: listens, connects to the next one's listener, accepts the
# previous one's connections, then holds everything until stdin closes.
STABLE_CODE = r'''
import ctypes, os, resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ctypes.CDLL(None).prctl(15, ctypes.create_string_buffer(sys.argv[1].encode()), 0, 0, 0)
laddr, lport = sys.argv[2], int(sys.argv[3])
L = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
L.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
L.bind((laddr, lport))
L.listen(4096)
keep = []
out = sys.stdout
out.write("ready %d %d\n" % (os.getpid(), hard))
out.flush()
for line in sys.stdin:
    w = line.split()
    try:
        if w[0] == "connect":          # connect CADDR FIRSTPORT COUNT DADDR DPORT
            caddr, first, count = w[1], int(w[2]), int(w[3])
            daddr, dport = w[4], int(w[5])
            for p in range(first, first + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((caddr, p))
                s.connect((daddr, dport))
                keep.append(s)
            out.write("ok\n")
        elif w[0] == "accept":         # accept COUNT -> ok PEERPORTS...
            ports = []
            for _ in range(int(w[1])):
                s, peer = L.accept()
                keep.append(s)
                ports.append(peer[1])
            out.write("ok %s\n" % " ".join(map(str, ports)))
        elif w[0] == "closelisten":
            L.close()
            out.write("ok\n")
        else:
            out.write("err unknown command\n")
    except Exception as e:
        out.write("err %r\n" % (e,))
    out.flush()
'''

# A churner: one listener, then connect/accept/close in a loop as fast as it
# can, keeping a small ring of live connections so that sockets are created
# and destroyed (and fds reused) all the time.  Most connections end with an
# RST (SO_LINGER 0) so that TIME_WAIT sockets do not pile up; every 32nd is
# closed normally.  "count" on stdin -> "N ERRORS"; EOF -> exit.
CHURN_CODE = r'''
import ctypes, os, select, socket, struct, sys, time
ctypes.CDLL(None).prctl(15, ctypes.create_string_buffer(sys.argv[1].encode()), 0, 0, 0)
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
addr, port = sys.argv[2], int(sys.argv[3])
L = socket.socket(fam, socket.SOCK_STREAM)
L.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
L.bind((addr, port))
L.listen(128)
RST = struct.pack("ii", 1, 0)
ring = []
n = errors = 0
sys.stdout.write("ready %d\n" % os.getpid())
sys.stdout.flush()
while True:
    t0 = time.monotonic()
    for _ in range(32):
        try:
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.connect((addr, port))
            s, _ = L.accept()
            ring.append((c, s))
            n += 1
        except OSError:
            errors += 1
            try:
                c.close()
            except Exception:
                pass
        if len(ring) > 16:
            c, s = ring.pop(0)
            if n % 32:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
            c.close()
            s.close()
    # as long a rest as the batch took: churn at half a core, not a whole
    # one (the suite runs beside it on a machine of two)
    r, _, _ = select.select([sys.stdin], [], [], time.monotonic() - t0)
    if r:
        line = sys.stdin.readline()
        if not line:
            break
        sys.stdout.write("%d %d\n" % (n, errors))
        sys.stdout.flush()
'''


class Proc:
    def __init__(self, code, *args):
        self.p = subprocess.Popen([sys.executable, "-c", code] +
                                  [str(a) for a in args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        line = self.p.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("helper did not start: %r" % line)
        self.words = line.split()[1:]
        self.pid = int(self.words[0])
        if self.pid != self.p.pid:
            raise RuntimeError("helper pid mismatch")

    def send(self, *words):
        self.p.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.p.stdin.flush()

    def reply(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("helper %d died" % self.pid)
        return line.split()

    def ok(self):
        w = self.reply()
        if not w or w[0] != "ok":
            raise RuntimeError("helper %d: %s" % (self.pid, " ".join(w)))
        return w[1:]

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def hold(churners, stopped):
    """Stop the churners while the test reads a run's output; let them go
    on before the next run, and wait until each has made a batch of
    connections again, so that every run meets churn in full swing
    (without that wait the PORTVIEW_DUMP=once search at 128 buckets found
    its first loss in runs 14 and 2 instead of 1 to 3).  Burning a core while Python checked 5,000
    sockets made the test's CPU grow with how busy the machine was."""
    if not churners:
        return
    if stopped:
        for ch in churners:
            os.kill(ch.pid, signal.SIGSTOP)
        return
    for ch in churners:
        os.kill(ch.pid, signal.SIGCONT)
    each = [0] * len(churners)
    for i, ch in enumerate(churners):
        ch.send("count")
        each[i] = int(ch.reply()[0])
    deadline = time.monotonic() + common.scaled(5)
    for i, ch in enumerate(churners):
        while time.monotonic() < deadline:
            ch.send("count")
            if int(ch.reply()[0]) >= each[i] + 32:
                break
            time.sleep(0.002)


def churn_count(churners):
    for ch in churners:
        ch.send("count")
    n = errors = 0
    for ch in churners:
        a, b = ch.reply()
        n += int(a)
        errors += int(b)
    return n, errors


def build_model():
    """{(laddr, lport, raddr, rport): pid-index} for the 10,000 sockets."""
    model = {}
    for i in range(NPROC):
        nxt = (i + 1) % NPROC
        for j in range(PER_PROC):
            cport = CLIENT_PORT0 + i * PER_PROC + j
            # Client end, held by i; server end, held by the next process.
            model[(CLIENT_ADDR, cport, SERVER_ADDR, LISTEN_PORT0 + nxt)] = i
            model[(SERVER_ADDR, LISTEN_PORT0 + nxt, CLIENT_ADDR, cport)] = nxt
    return model


def endpoint(e):
    return (e["address"], e["port"])


def check_run(c, n, rc, out, err, model, pids, elapsed, churned):
    name = "run %2d" % n
    c.eq(rc, 0, name + ": exit status 0")
    notes = common.unknown_owner_notes()
    c.eq([l for l in err.splitlines() if "portview: debug:" not in l and
          l not in notes], [],
         name + ": stderr holds nothing but the debug lines (and, in the "
         "test's PID namespace, the note of owners not seen)")
    try:
        doc = json.loads(out)
    except ValueError as e:
        c.ok(False, name + ": stdout is one JSON document", str(e))
        return
    seen = {}            # stable key -> [objects]
    cookies = {}
    tuples = {}
    churn_rows = 0
    for o in doc:
        lk, fk = endpoint(o["local"]), endpoint(o["foreign"])
        key = lk + fk
        if key in model:
            seen.setdefault(key, []).append(o)
        elif o["proto"] == "tcp" and (lk[0] in (CHURN_V4, CHURN_V6) or
                                      fk[0] in (CHURN_V4, CHURN_V6)):
            churn_rows += 1
        cookies[o["cookie"]] = cookies.get(o["cookie"], 0) + 1
        t = (o["proto"], o["family"], lk, fk, o["state"])
        # A client caught in connect() before its port is set has port 0,
        # and two of them are two sockets with one tuple: not a repeat.
        if lk[1] and fk[1]:
            tuples[t] = tuples.get(t, 0) + 1

    missing = [k for k in model if k not in seen]
    twice = [(k, len(v)) for k, v in seen.items() if len(v) > 1]
    wrong = []
    for k, objs in seen.items():
        i = model[k]
        want = [(pids[i], "pv-stable%d" % i)]
        for o in objs:
            got = None if o["owners"] is None else \
                [(w["pid"], w["program"]) for w in o["owners"]]
            if o["state"] != "ESTABLISHED" or got != want:
                wrong.append((k, o["state"], got, want))
    dup_cookies = [(k, v) for k, v in cookies.items() if v > 1]
    dup_tuples = [(k, v) for k, v in tuples.items()
                  if v > 1 and k[4] != "BOUND"]

    print("%s: %d rows, stable %d/%d found, %d missing, %d twice, "
          "%d wrong state/owner; churn rows %d; duplicate cookies %d, "
          "duplicate tuples %d; churners +%d connections; %.2f s"
          % (name, len(doc), len(seen), len(model), len(missing), len(twice),
             len(wrong), churn_rows, len(dup_cookies), len(dup_tuples),
             churned, elapsed))
    if missing:
        # Tell a portview bug from a setup problem: are they still there?
        kern = {(socket.inet_ntoa(k[2]), k[3], socket.inet_ntoa(k[4]),
                 k[5]): k[6] for k in common.kernel_sockets()
                if k[0] == "TCP" and k[1] == 4}
        still = sum(kern.get(k) == common.ESTABLISHED for k in missing)
    c.ok(not missing, name + ": every stable socket listed",
         "%d missing, e.g. %r; %d of them are ESTABLISHED in /proc/net/tcp "
         "right after the run" % (len(missing), missing[:5],
                                  still if missing else 0))
    c.ok(not twice, name + ": no stable socket listed twice",
         "%d twice, e.g. %r" % (len(twice), twice[:5]))
    c.ok(not wrong, name + ": stable sockets ESTABLISHED, owned by exactly "
         "their holder", "%d wrong, e.g. (key, state, owners, want) %r"
         % (len(wrong), wrong[:5]))
    c.ok(not dup_cookies, name + ": no cookie appears twice",
         "e.g. %r" % dup_cookies[:5])
    c.ok(not dup_tuples, name + ": no (proto, family, local, foreign, state) "
         "appears twice", "e.g. %r" % dup_tuples[:5])


def missing_stable(out, model):
    """How many stable sockets a JSON listing lacks (None: not JSON)."""
    try:
        doc = json.loads(out)
    except ValueError:
        return None
    seen = {endpoint(o["local"]) + endpoint(o["foreign"]) for o in doc}
    return sum(k not in seen for k in model)


def tcp_debug(err):
    """(second pass, whole TCP debug line) from portview's debug output."""
    for line in err.splitlines():
        if "debug: TCP dump:" in line:
            m = re.search(r"second pass (\w+)", line)
            return (m.group(1) if m else "?"), line
    return "no debug line", ""


def main():
    global PER_PROC, NCONN
    ap = argparse.ArgumentParser()
    ap.add_argument("--buckets", type=int, default=0)
    args = ap.parse_args()
    if args.buckets:
        common.enter_small_hash_netns(args.buckets)
        PER_PROC = 500
        NCONN = NPROC * PER_PROC
    else:
        common.enter_netns()
    pv = common.require_portview()
    sanitized = os.environ.get("PORTVIEW_SANITIZED") == "1"
    runs = 8 if sanitized else RUNS
    t0 = time.monotonic()
    c = common.Checker()
    stable, churners = [], []
    try:
        for i in range(NPROC):
            stable.append(Proc(STABLE_CODE, "pv-stable%d" % i, SERVER_ADDR,
                               LISTEN_PORT0 + i))
        hard = int(stable[0].words[1])
        if hard < PER_PROC * 2 + 50:
            print("SKIP: RLIMIT_NOFILE hard limit %d is too low" % hard)
            sys.exit(common.SKIP)
        pids = [h.pid for h in stable]
        for i, h in enumerate(stable):
            h.send("connect", CLIENT_ADDR, CLIENT_PORT0 + i * PER_PROC,
                   PER_PROC, SERVER_ADDR, LISTEN_PORT0 + (i + 1) % NPROC)
        for h in stable:
            h.ok()
        for i, h in enumerate(stable):
            h.send("accept", PER_PROC)
        for i, h in enumerate(stable):
            prev = (i - 1) % NPROC
            got = sorted(int(p) for p in h.ok())
            want = list(range(CLIENT_PORT0 + prev * PER_PROC,
                              CLIENT_PORT0 + (prev + 1) * PER_PROC))
            if got != want:
                raise RuntimeError("process %d accepted unexpected peers" % i)
            h.send("closelisten")
            h.ok()
        model = build_model()

        # The kernel's own view (/proc/net/tcp) must hold every stable socket
        # before churn starts: a setup mistake is not a portview bug.
        kern = {(socket.inet_ntoa(k[2]), k[3], socket.inet_ntoa(k[4]),
                 k[5]): k[6]
                for k in common.kernel_sockets()
                if k[0] == "TCP" and k[1] == 4}
        bad = [k for k in model if kern.get(k) != common.ESTABLISHED]
        if bad:
            raise RuntimeError("kernel lacks %d stable sockets, e.g. %r"
                               % (len(bad), bad[:3]))
        with open("/proc/sys/net/ipv4/tcp_ehash_entries") as f:
            buckets = abs(int(f.read()))
        print("stable: %d connections (%d sockets) held by PIDs %s, in a TCP "
              "hash of %d buckets; set up in %.1f s"
              % (NCONN, len(model), pids, buckets, time.monotonic() - t0))

        churners.append(Proc(CHURN_CODE, "pv-churn4", CHURN_V4, CHURN_PORT))
        churners.append(Proc(CHURN_CODE, "pv-churn6", CHURN_V6, CHURN_PORT))
        try:
            common.wait_until(lambda: churn_count(churners)[0] > 0,
                              "the churners' first connections", 10)
        except RuntimeError as e:
            print("NOTE: %s" % e)
        start_n, _ = churn_count(churners)
        c.ok(start_n > 0, "churners are churning before the runs (%d "
             "connections so far)" % start_n)

        if args.buckets and not sanitized:
            # The test must be able to see a loss: without protection the
            # kernel's walk does skip stable sockets in this hash.
            os.environ["PORTVIEW_DUMP"] = "once"
            losses = []
            for n in range(1, ONCE_RUNS + 1):
                if args.buckets > 128 and n > REPORT_RUNS:
                    n -= 1
                    break
                hold(churners, False)
                rc, out, err = common.run_portview(["-an", "--json"], pv,
                                                   timeout=60)
                hold(churners, True)
                lost = missing_stable(out, model) if rc == 0 else None
                c.ok(lost is not None, "PORTVIEW_DUMP=once run %d: exit 0 and "
                     "a JSON document" % n, err)
                if lost:
                    losses.append((n, lost))
                    if len(losses) >= 2:
                        break
            del os.environ["PORTVIEW_DUMP"]
            hold(churners, False)
            print("PORTVIEW_DUMP=once: %d run(s) missed stable sockets (run, "
                  "missed): %r, in %d runs" % (len(losses), losses, n))
            if args.buckets <= 128:
                c.ok(losses, "PORTVIEW_DUMP=once misses stable sockets in "
                     "this hash within %d runs, so a regression would show"
                     % ONCE_RUNS)

        overlapped = 0
        before, _ = churn_count(churners)
        paths = {}
        os.environ["PORTVIEW_DEBUG"] = "1"
        for n in range(1, runs + 1):
            # every other run on two threads: the established hash's walk
            # parsed and made sure of on a thread of its own (piped)
            if n % 2 == 0:
                os.environ["PORTVIEW_DUMP_THREADS"] = "2"
            t = time.monotonic()
            rc, out, err = common.run_portview(["-ano", "--json"], pv,
                                               timeout=60)
            os.environ.pop("PORTVIEW_DUMP_THREADS", None)
            path, line = tcp_debug(err)
            paths[path] = paths.get(path, 0) + 1
            if args.buckets:
                # how the crowded hash was made sure of (collect.c dump_one)
                c.ok(path == "sliced" and "incomplete" not in line,
                     "run %2d: the crowded hash was walked again in slices, "
                     "each in one datagram" % n, line)
            elapsed = time.monotonic() - t
            after, _ = churn_count(churners)
            hold(churners, True)
            check_run(c, n, rc, out, err, model, pids, elapsed, after - before)
            hold(churners, False)
            if after > before:
                overlapped += 1
            before = after
        del os.environ["PORTVIEW_DEBUG"]
        print("second passes: %s" % ", ".join(
            "%s in %d runs" % kv for kv in sorted(paths.items())))
        c.ok("no debug line" not in paths, "every run printed its TCP dump's "
             "debug line", repr(paths))
        end_n, errors = churn_count(churners)
        total = end_n - start_n
        print("churners: %d connections opened and closed during the runs "
              "(%d connect errors)" % (total, errors))
        c.ok(total >= 1000, "churners made at least 1000 connections during "
             "the runs (%d)" % total)
        c.eq(overlapped, runs, "churn went on during every run")
        for ch in churners:
            c.ok(ch.p.poll() is None, "churner %d still alive" % ch.pid)
        for h in stable:
            c.ok(h.p.poll() is None, "stable process %d still alive" % h.pid)
    finally:
        hold(churners, False)
        for p in churners + stable:
            p.stop()
    print("total time %.1f s" % (time.monotonic() - t0))
    c.finish()


if __name__ == "__main__":
    main()

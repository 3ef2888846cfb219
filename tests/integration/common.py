"""Shared helpers for the portview integration tests (Python 3 stdlib only).

Exit codes of the test scripts: 0 pass, 1 fail, 77 skip.

Main pieces:
  enter_netns()      re-exec the calling script in a private network (and,
                     when possible, PID + mount) namespace
  Holder             a child process (holder.py) that opens and holds sockets
  World              holders plus a model of every socket they created, so a
                     test can compute the exact table portview must print
  run_portview()     run the binary, return (rc, stdout, stderr)
  render_table()     the exact expected stdout for a list of model sockets
                     (optionally with the -e columns, in a --sort order)
  kernel_tcp()       TCP sockets' queues, timer, uid and inode as the kernel
                     shows them in /proc/net/tcp*, for condition waits
  Checker            prints PASS/FAIL lines with readable diffs
  waiting_for()      names what the test waits for, for the message of a
                     test cut off by its deadline or by meson (see below)
  EventStream        a running portview --events, its lines read as they come
"""

import atexit
import difflib
import ipaddress
import json
import os
import re
import select as select_module  # common.select() is the model filter below
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
HOLDER = os.path.join(HERE, "holder.py")
NETNS_MARK = "PORTVIEW_TEST_NETNS"
SKIP = 77

# ---------------------------------------------------------------------------
# deadlines: a test that is cut off fails, and says so
#
# A test that is killed must not read what it has so far as a result (a
# portview --events that SIGTERM ends exits 0 with the lines it had).  So
# every test that imports this module, from its first import:
#   - fails at its own deadline, some seconds before meson's timeout
#     (PORTVIEW_TEST_TIMEOUT, set per test in tests/meson.build, times
#     PORTVIEW_TEST_TIMEOUT_MULTIPLIER, which scripts/test passes to meson
#     as --timeout-multiplier too), and
#   - fails on SIGTERM (what meson sends when its timeout comes first, and
#     what a PID namespace's init ignores unless it has a handler),
# with a FAIL line naming what it waited for (waiting_for(), else the
# test's line of code) and the last check it made, and exit status 1.
# The clock starts at the first import, before any re-execution into a
# namespace (PORTVIEW_TEST_STARTED carries it across).

TIMEOUT_ENV = "PORTVIEW_TEST_TIMEOUT"
MULTIPLIER_ENV = "PORTVIEW_TEST_TIMEOUT_MULTIPLIER"
STARTED_ENV = "PORTVIEW_TEST_STARTED"
_waits = []          # what the test waits for now, innermost last
_last_check = [None]


def timeout_scale():
    """How much longer than on a quiet machine waits may take: meson's
    --timeout-multiplier as scripts/test passes it (1 when unset)."""
    try:
        return max(1.0, float(os.environ.get(MULTIPLIER_ENV) or 1))
    except ValueError:
        return 1.0


def scaled(seconds):
    """A wait's timeout, stretched as meson's timeouts are."""
    return seconds * timeout_scale()


class waiting_for:
    """with waiting_for("200 lines of --events"): ... names the wait for
    the message of a test cut off in it; what may be a function that
    says it (with what was seen so far)."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        _waits.append(self.what)
        return self

    def __exit__(self, *exc):
        _waits.pop()
        return False


def _cut_off(why, frame):
    where = [f for f in traceback.extract_stack(frame)
             if os.path.dirname(os.path.abspath(f.filename)) == HERE]
    lines = ["FAIL: cut off: %s; the test did not finish, and what it had "
             "read so far is no result" % why]
    if _waits:
        what = _waits[-1]
        lines.append("      it was waiting for " +
                     (what() if callable(what) else what))
    if where:
        lines.append("      at " + "; ".join(
            "%s:%d %s" % (os.path.basename(f.filename), f.lineno,
                          (f.line or "").strip()) for f in where[-3:]))
    if _last_check[0]:
        lines.append("      its last check: " + _last_check[0])
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    finally:
        os._exit(1)


def _on_term(signum, frame):
    _cut_off("SIGTERM (meson's timeout, or another kill)", frame)


def _on_alarm(signum, frame):
    own, meson = _deadline_info()
    _cut_off("the test's own deadline (%.0f s; meson's timeout is %.0f s)"
             % (own, meson), frame)


def _deadline_info():
    """(own deadline, meson's timeout) in seconds from the start; own is
    None without PORTVIEW_TEST_TIMEOUT."""
    try:
        meson = float(os.environ[TIMEOUT_ENV]) * timeout_scale()
    except (KeyError, ValueError):
        return None, None
    return meson - min(30.0, max(5.0, meson * 0.1)), meson


def _arm_deadline():
    if STARTED_ENV not in os.environ:
        os.environ[STARTED_ENV] = "%.3f" % time.monotonic()
    signal.signal(signal.SIGTERM, _on_term)
    own, _ = _deadline_info()
    if own is None:
        return
    signal.signal(signal.SIGALRM, _on_alarm)
    left = float(os.environ[STARTED_ENV]) + own - time.monotonic()
    signal.alarm(max(1, int(left)))


def _before_exec():
    """An alarm outlives execve: the program exec'd must not get ours."""
    signal.alarm(0)
    sys.stdout.flush()
    sys.stderr.flush()


_arm_deadline()

# ---------------------------------------------------------------------------
# namespaces


def _unshare_works(flags):
    try:
        r = subprocess.run(["unshare"] + flags + ["true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def enter_netns(pidns=True):
    """Make sure the calling script runs in a private network namespace.

    On the first call the script re-executes itself under unshare(1) and this
    function does not return in the original process.  With pidns=True a new
    PID namespace with its own /proc is used as well when available, which
    lets tests choose PIDs (see set_next_pid) and guarantees that every
    helper process dies with the test.  Exits 77 when namespaces cannot be
    created (not root, or disabled).  In the namespace: brings lo up.
    PORTVIEW_TEST_NO_PIDNS=1 forces a network namespace only.
    """
    if os.environ.get(NETNS_MARK) != "1":
        if os.geteuid() != 0:
            print("SKIP: needs root for network namespaces")
            sys.exit(SKIP)
        if not shutil.which("unshare"):
            print("SKIP: unshare(1) not found")
            sys.exit(SKIP)
        candidates = []
        if pidns and os.environ.get("PORTVIEW_TEST_NO_PIDNS") != "1":
            candidates.append(["-n", "-p", "-f", "--mount-proc"])
        candidates.append(["-n"])
        for flags in candidates:
            if _unshare_works(flags):
                break
        else:
            print("SKIP: cannot create a network namespace (unshare -n failed)")
            sys.exit(SKIP)
        env = dict(os.environ)
        env[NETNS_MARK] = "1"
        _before_exec()
        argv = ["unshare"] + flags + ["--", sys.executable,
                                      os.path.abspath(sys.argv[0])]
        os.execvpe("unshare", argv + sys.argv[1:], env)
    sh(["ip", "link", "set", "lo", "up"])


EHASH_MARK = "PORTVIEW_TEST_EHASH"
CHILD_EHASH = "/proc/sys/net/ipv4/tcp_child_ehash_entries"


def enter_small_hash_netns(buckets):
    """Run the calling script in a network namespace whose TCP established
    hash has `buckets` buckets, as container hosts configure them.

    The size is set with net.ipv4.tcp_child_ehash_entries in an outer
    private namespace (made by enter_netns, never the host's), and the
    script re-executes itself in a namespace created inside it, which
    inherits that size.  Exits 77 on kernels without the sysctl (before
    Linux 6.1).  In the inner namespace: brings lo up and checks the size.
    """
    enter_netns()
    if os.environ.get(EHASH_MARK) != str(buckets):
        if not os.path.exists(CHILD_EHASH):
            print("SKIP: kernel without net.ipv4.tcp_child_ehash_entries "
                  "(Linux 6.1 and later have it)")
            sys.exit(SKIP)
        with open(CHILD_EHASH, "w") as f:
            f.write(str(buckets))
        env = dict(os.environ)
        env[EHASH_MARK] = str(buckets)
        _before_exec()
        os.execvpe("unshare", ["unshare", "-n", "--", sys.executable,
                               os.path.abspath(sys.argv[0])] + sys.argv[1:],
                   env)
    sh(["ip", "link", "set", "lo", "up"])
    with open("/proc/sys/net/ipv4/tcp_ehash_entries") as f:
        got = int(f.read())
    if got != buckets:
        raise RuntimeError("inner namespace has %d hash buckets, not %d"
                           % (got, buckets))


def in_own_pidns():
    """True when enter_netns() also gave us a PID namespace (we are PID 1)."""
    return os.environ.get(NETNS_MARK) == "1" and os.getpid() == 1


def set_next_pid(pid):
    """Make the next process created in our PID namespace get this PID.

    Returns False (and does nothing) outside our own PID namespace.
    """
    if not in_own_pidns():
        return False
    try:
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
    except OSError:
        return False
    return True


def sh(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv),
                                                   r.returncode, r.stderr))
    return r


def setup_veth():
    """Create veth pv0/pv1 with 10.9.9.1/24 and fe80::1 on pv0.

    10.9.9.2 is a permanent neighbour that never answers: packets sent to it
    vanish without any error, so SYN_SENT, SYN_RECEIVED (request sockets
    from injected SYNs) and unacknowledged FINs stay put.  Returns False when
    veth is unavailable.
    """
    if sh(["ip", "link", "add", "pv0", "type", "veth", "peer", "name",
           "pv1"], check=False).returncode != 0:
        return False
    for cmd in (["ip", "link", "set", "pv0", "up"],
                ["ip", "link", "set", "pv1", "up"],
                ["ip", "addr", "add", "10.9.9.1/24", "dev", "pv0"],
                ["ip", "-6", "addr", "add", "fe80::1/64", "dev", "pv0",
                 "nodad"],
                ["ip", "neigh", "replace", "10.9.9.2", "lladdr",
                 "02:00:00:00:00:02", "dev", "pv0", "nud", "permanent"]):
        sh(cmd)
    return True


def add_lo_addr(cidr):
    argv = ["ip", "addr", "add", cidr, "dev", "lo"]
    if ":" in cidr:
        argv[1:1] = ["-6"]
        argv.append("nodad")
    sh(argv)


# ---------------------------------------------------------------------------
# running portview


def portview_path():
    p = os.environ.get("PORTVIEW") or os.path.join(HERE, "..", "..", "build",
                                                   "portview")
    return os.path.abspath(p)


def require_portview():
    p = portview_path()
    if not os.access(p, os.X_OK):
        print("FAIL: portview binary not found at %s (set PORTVIEW)" % p)
        sys.exit(1)
    return p


def as_user_prefix(user, group):
    return ["setpriv", "--reuid=" + user, "--regid=" + group,
            "--clear-groups", "--"]


def run_portview(args, binary=None, user=None, group="nogroup", timeout=20,
                 plain=False):
    """Run portview with args; return (rc, stdout, stderr) as text.

    plain=True adds --plain and -n: only the netstat columns, numeric, which
    is what the listing tests model (port annotations and names are tested
    on their own, in test_ports.py and test_output.py).
    """
    argv = [binary or portview_path()] + list(args) + \
        (["--plain", "-n"] if plain else [])
    if user:
        argv = as_user_prefix(user, group) + argv
    with waiting_for("portview %s to exit" % " ".join(
            a if isinstance(a, str) else os.fsdecode(a) for a in args)):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=scaled(timeout))
    return (r.returncode, r.stdout.decode("utf-8", "surrogateescape"),
            r.stderr.decode("utf-8", "surrogateescape"))


def public_copy(*paths):
    """Copy files into a fresh world-readable temp dir (for other users).

    Returns (dir, [copied paths]).  In CI the checkout lives under a 0700
    directory, which other users cannot traverse.
    """
    d = tempfile.mkdtemp(prefix="portview-it-")
    atexit.register(shutil.rmtree, d, True)  # also when a check stops the test
    os.chmod(d, 0o755)
    out = []
    for p in paths:
        dst = os.path.join(d, os.path.basename(p))
        shutil.copy2(p, dst)
        os.chmod(dst, 0o755)
        out.append(dst)
    return d, out


def python_for(user, group):
    """A python3 that user can run (setpriv), or None."""
    for p in ("/usr/bin/python3", sys.executable):
        if p and os.path.exists(p):
            r = subprocess.run(as_user_prefix(user, group) + [p, "-c", "pass"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return p
    return None


def unnamed_uid(first=4242):
    """A user ID (from first up) that has no name in the user database."""
    import pwd
    uid = first
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


# The notes portview prints when some socket's owner is unknown.
NOTE_DENIED = ("portview: owners of other users' sockets could not be "
               "identified (run as root to see them all)")
NOTE_HIDEPID = ("portview: owners of other users' sockets could not be "
                "identified (/proc is mounted with hidepid; run as root to "
                "see them all)")
NOTE_PIDNS = ("portview: owners outside this PID namespace could not be "
              "identified (its /proc shows only its own processes)")


def unknown_owner_notes():
    """The stderr lines a run may print when a socket's owner is unknown
    for no fault of the test: in the tests' own PID namespace portview
    cannot see every process there may be, and a socket whose process
    exited between the dump and the /proc walk shows as unknown."""
    return {NOTE_PIDNS} if in_own_pidns() else set()


# What usage errors list as valid (the exact text of the messages).
STATE_VALID = ("established, estab, syn-sent, syn-recv, syn-received, "
               "fin-wait-1, fin-wait1, fin-wait-2, fin-wait2, time-wait, "
               "close, closed, unconn, close-wait, last-ack, listen, "
               "listening, closing, bound, bound-inactive, all, connected, "
               "synchronized, bucket, big")


# ---------------------------------------------------------------------------
# holders


class Holder:
    """A holder.py child process; .pid is the PID owning its sockets."""

    def __init__(self, comm=b"pv-holder", user=None, group="nogroup",
                 python=None, script=None):
        if isinstance(comm, str):
            comm = comm.encode()
        self.comm = comm
        argv = [python or sys.executable, script or HOLDER, comm.hex()]
        if user:
            argv = as_user_prefix(user, group) + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("holder did not start: %r" % line)
        self.pid = int(line.split()[1])
        if self.pid != self.proc.pid:
            raise RuntimeError("holder pid mismatch")

    def cmd(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        line = self.proc.stdout.readline()
        if not line.startswith("ok"):
            raise RuntimeError("holder %d: %s -> %s" % (
                self.pid, " ".join(str(w) for w in words),
                line.strip() or "EOF"))
        return [int(v) for v in line.split()[1:]]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# model of the sockets a test created

# Kernel TCP state numbers (include/net/tcp_states.h) and the names the spec
# prints for them.  UDP uses ESTABLISHED (connected) and CLOSE (unconnected).
ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, \
    CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING = range(1, 12)
# Bound, neither listening nor connecting (TCP_BOUND_INACTIVE; the kernel
# lists them since Linux 6.5, in its CLOSE state).
BOUND = 13
ALL_STATES = frozenset(list(range(1, 12)) + [BOUND])
STATE_TEXT = {
    ESTABLISHED: "ESTABLISHED", SYN_SENT: "SYN_SENT",
    SYN_RECV: "SYN_RECEIVED", FIN_WAIT1: "FIN_WAIT_1",
    FIN_WAIT2: "FIN_WAIT_2", TIME_WAIT: "TIME_WAIT", CLOSE: "CLOSED",
    CLOSE_WAIT: "CLOSE_WAIT", LAST_ACK: "LAST_ACK", LISTEN: "LISTENING",
    CLOSING: "CLOSING", BOUND: "BOUND",
}


class Addr:
    """An address as the kernel sees it: family, packed bytes, scope."""

    def __init__(self, text):
        self.scope = ""
        if "%" in text:
            text, self.scope = text.split("%", 1)
        ip = ipaddress.ip_address(text)
        self.family = ip.version
        self.packed = ip.packed

    @classmethod
    def mapped(cls, a):
        """a as seen by an AF_INET6 socket (v4 -> ::ffff:a.b.c.d)."""
        if a.family == 6:
            return a
        return cls("::ffff:" + socket.inet_ntoa(a.packed))

    @classmethod
    def unmapped(cls, a):
        """a as seen by an AF_INET socket."""
        if a.family == 4:
            return a
        ip = ipaddress.IPv6Address(a.packed)
        if ip.ipv4_mapped is None:
            raise ValueError("not v4-mapped: %s" % ip)
        return cls(str(ip.ipv4_mapped))

    def is_v4_mapped(self):
        return (self.family == 6 and
                ipaddress.IPv6Address(self.packed).ipv4_mapped is not None)

    def text(self):
        if self.family == 4:
            return socket.inet_ntop(socket.AF_INET, self.packed)
        s = socket.inet_ntop(socket.AF_INET6, self.packed)
        return "[%s%s]" % (s, "%" + self.scope if self.scope else "")


def any_addr(family):
    return Addr("0.0.0.0" if family == 4 else "::")


class Sock:
    """One socket as portview must show it."""

    def __init__(self, proto, laddr, lport, raddr, rport, state, owners=(),
                 holder=None, sid=None):
        self.proto = proto              # "TCP" / "UDP"
        self.laddr, self.lport = laddr, lport
        self.raddr, self.rport = raddr, rport
        self.family = laddr.family      # socket family
        self.state = state
        self.owners = set(owners)       # PIDs
        self.holder, self.sid = holder, sid
        self.open = True
        # IPV6_V6ONLY of an unconnected IPv6 socket (0/1); None: not known
        self.v6only = None
        # the device it is bound to (SO_BINDTODEVICE), or None
        self.dev = None

    def dual_stack(self):
        """An IPv6 socket on :: without IPV6_V6ONLY: it takes IPv4 too."""
        return (self.family == 6 and self.v6only == 0 and
                self.laddr.packed == bytes(16))

    def local_text(self):
        addr = "*" if self.dual_stack() else self.laddr.text()
        if self.dev and not self.laddr.scope:
            addr += "%" + self.dev
        return "%s:%d" % (addr, self.lport)

    def foreign_text(self):
        if self.proto == "UDP" and self.state == CLOSE:
            return "*:*"
        if self.state in (LISTEN, BOUND):
            return "%s:0" % any_addr(self.family).text()
        return "%s:%d" % (self.raddr.text(), self.rport)

    def state_text(self):
        if self.proto == "UDP":
            return "ESTABLISHED" if self.state == ESTABLISHED else ""
        return STATE_TEXT[self.state]

    def ifindex(self):
        """The interface the kernel reports (idiag_if): the bound device,
        or a link-local address's scope; 0 for none."""
        name = self.dev or self.laddr.scope
        if not name:
            return 0
        return int(name) if name.isdigit() else socket.if_nametoindex(name)

    def sort_key(self):
        return (self.proto != "TCP", self.family != 4, self.laddr.packed,
                self.lport, self.raddr.packed, self.rport, self.ifindex())

    def kernel_key(self):
        return (self.proto, self.family, self.laddr.packed, self.lport,
                self.raddr.packed, self.rport, self.state)

    def __repr__(self):
        return "<%s %s %s %s %s>" % (self.proto, self.local_text(),
                                     self.foreign_text(),
                                     STATE_TEXT[self.state],
                                     sorted(self.owners))


class World:
    """Holders plus the model of all sockets they have created."""

    def __init__(self):
        self.holders = []
        self.socks = []
        self.comms = {}      # pid -> comm bytes

    # -- processes -------------------------------------------------------
    def holder(self, comm, pid=None, **kw):
        if pid is not None:
            set_next_pid(pid)
        h = Holder(comm, **kw)
        self.holders.append(h)
        self.comms[h.pid] = h.comm
        h.children = []
        return h

    def fork(self, h, comm, pid=None):
        """Fork h; the child shares every socket h holds right now."""
        if isinstance(comm, str):
            comm = comm.encode()
        if pid is not None:
            set_next_pid(pid)
        (child,) = h.cmd("fork", comm.hex())
        self.comms[child] = comm
        h.children.append(child)
        for s in self.socks:
            if s.open and h.pid in s.owners:
                s.owners.add(child)
        return child

    def stop(self):
        for h in self.holders:
            h.stop()

    # -- sockets ---------------------------------------------------------
    def _add(self, *a, **kw):
        s = Sock(*a, **kw)
        self.socks.append(s)
        return s

    def tcp_listen(self, h, addr, port, v6only=1, backlog=128, dev=None):
        (sid,) = h.cmd("tcp_listen", addr, port, v6only, backlog,
                       *([dev] if dev else []))
        a = Addr(addr)
        s = self._add("TCP", a, port, any_addr(a.family), 0, LISTEN,
                      [h.pid], h, sid)
        s.v6only = v6only
        s.dev = dev
        return s

    def tcp_connect(self, client, caddr, cport, listener, daddr,
                    accept=True):
        """Connect client from caddr:cport to daddr:listener.lport.

        The listener's holder accepts when accept is true; otherwise the
        connection stays in the accept queue (ESTABLISHED, no owner).
        Returns (client sock, server sock).
        """
        (cid,) = client.cmd("tcp_connect", caddr, cport, daddr,
                            listener.lport)
        ca, da = Addr(caddr), Addr(daddr)
        c = self._add("TCP", ca, cport, da, listener.lport, ESTABLISHED,
                      [client.pid], client, cid)
        fix = Addr.mapped if listener.family == 6 else Addr.unmapped
        sid, owners = None, []
        if accept:
            (sid,) = listener.holder.cmd("accept", listener.sid)
            owners = [listener.holder.pid]
        s = self._add("TCP", fix(da), listener.lport, fix(ca), cport,
                      ESTABLISHED, owners, listener.holder if accept else None,
                      sid)
        return c, s

    def inode(self, s):
        """The inode of s, as its holder's fstat(2) shows it; 0 when no
        holder has it (TIME_WAIT, the accept queue)."""
        return s.holder.cmd("inode", s.sid)[0] if s.holder else 0

    def fd(self, s):
        """The descriptor number s has in its holder."""
        return s.holder.cmd("fd", s.sid)[0]

    def close(self, s):
        s.holder.cmd("close", s.sid)
        s.owners.clear()
        s.holder = None

    def time_wait(self, c, s):
        """Active close by c: c ends in TIME_WAIT, s disappears.

        Once, in a loaded CI run with a dozen namespaces coming and going,
        the kernel had no TIME_WAIT socket for c at all (it_oracle's
        world): the model then follows the kernel (c dropped, said on
        stdout with the namespace's TCP counters that tell why), so that a
        test of exact rows fails on the missing row with its reason, and
        the oracle compares what is there."""
        self.close(c)
        wait_kernel(s, CLOSE_WAIT)
        self.close(s)
        c.state = TIME_WAIT
        s.open = False
        self.socks.remove(s)
        try:
            wait_kernel(c, TIME_WAIT)
        except RuntimeError as e:
            key = c.kernel_key()[:6]
            if any(k[:6] == key for k in kernel_sockets()):
                raise
            print("note: %s; no TIME_WAIT socket is left of it, so the model drops it "
                  "(TcpExt: %s)" % (e, tcp_counters()), flush=True)
            self.socks.remove(c)
        wait_kernel(s, None)

    def half_close(self, c, s):
        """shutdown(SHUT_WR) by c: c FIN_WAIT_2, s CLOSE_WAIT (both held)."""
        c.holder.cmd("shutdown", c.sid)
        c.state, s.state = FIN_WAIT2, CLOSE_WAIT
        wait_kernel(c, FIN_WAIT2)
        wait_kernel(s, CLOSE_WAIT)

    def tcp_bind(self, h, addr, port, v6only=1, reuseaddr=0):
        """A TCP socket bound to addr:port (0: the kernel picks) that never
        listens nor connects: state BOUND.  Without reuseaddr (no
        SO_REUSEADDR) nothing else can bind the port."""
        (sid, got) = h.cmd("tcp_bind", addr, port, v6only, reuseaddr)
        a = Addr(addr)
        s = self._add("TCP", a, got, any_addr(a.family), 0, BOUND, [h.pid],
                      h, sid)
        s.v6only = v6only
        return s

    def udp_bind(self, h, addr, port, v6only=1, dev=None):
        (sid,) = h.cmd("udp_bind", addr, port, v6only,
                       *([dev] if dev else []))
        a = Addr(addr)
        s = self._add("UDP", a, port, any_addr(a.family), 0, CLOSE,
                      [h.pid], h, sid)
        s.v6only = v6only
        s.dev = dev
        return s

    def udp_many(self, h, addr, first, count):
        assert first > 0, "the model needs fixed ports"
        first_id, _ = h.cmd("udp_many", addr, first, count)
        a = Addr(addr)
        return [self._add("UDP", a, first + i, any_addr(a.family), 0, CLOSE,
                          [h.pid], h, first_id + i) for i in range(count)]

    def udp_connect(self, h, laddr, lport, raddr, rport):
        (sid,) = h.cmd("udp_connect", laddr, lport, raddr, rport)
        return self._add("UDP", Addr(laddr), lport, Addr(raddr), rport,
                         ESTABLISHED, [h.pid], h, sid)

    # -- states that need the veth (see setup_veth) ------------------------
    def syn_sent(self, h, laddr, lport, raddr, rport):
        (sid,) = h.cmd("tcp_connect_nb", laddr, lport, raddr, rport)
        s = self._add("TCP", Addr(laddr), lport, Addr(raddr), rport,
                      SYN_SENT, [h.pid], h, sid)
        wait_kernel(s, SYN_SENT)
        return s

    def syn_recv(self, listener, src, sport):
        """Inject a SYN from src:sport; a request socket appears."""
        listener.holder.cmd("inject", src, sport, listener.laddr.text(),
                            listener.lport, 1000, 0, 0x02)
        s = self._add("TCP", listener.laddr, listener.lport, Addr(src), sport,
                      SYN_RECV)
        wait_kernel(s, SYN_RECV)
        return s

    def repaired(self, h, laddr, lport, raddr, rport, final, window=None):
        """An IPv4 connection to a silent peer driven into state final.

        final is one of ESTABLISHED, FIN_WAIT1, CLOSING, LAST_ACK,
        CLOSE_WAIT, or "orphan" (FIN_WAIT1 after close(): no owner).
        window: the receive window the peer is taken to have announced
        (None: none, a closed window).  The socket's snd_seq and rcv_seq
        are its initial sequence numbers, for injecting the peer's
        segments.
        """
        snd, rcv = 1000, 5000
        (sid,) = h.cmd("repair", laddr, lport, raddr, rport, snd, rcv,
                       *([] if window is None else [window]))
        s = self._add("TCP", Addr(laddr), lport, Addr(raddr), rport,
                      ESTABLISHED, [h.pid], h, sid)
        s.snd_seq, s.rcv_seq = snd, rcv
        peer_fin = ["inject", raddr, rport, laddr, lport, rcv, snd, 0x11]
        if final == FIN_WAIT1:
            h.cmd("shutdown", sid)
        elif final == CLOSING:
            h.cmd("shutdown", sid)
            h.cmd(*peer_fin)
        elif final == LAST_ACK:
            h.cmd(*peer_fin)
            wait_kernel(s, CLOSE_WAIT)
            h.cmd("shutdown", sid)
        elif final == CLOSE_WAIT:
            h.cmd(*peer_fin)
        elif final == "orphan":
            self.close(s)
            final = FIN_WAIT1
        s.state = final
        wait_kernel(s, final)
        return s

    # -- checks ----------------------------------------------------------
    def check_kernel(self):
        """Raise unless the kernel's socket tables equal the model.

        Guards against test-setup mistakes being reported as portview bugs.
        A TIME_WAIT socket the kernel no longer has (seen beside CPU hogs in
        it_oracle, its cause unknown: see time_wait()) is dropped from the
        model with a note rather than failing the world.
        """
        # /proc/net/tcp lists no bound, inactive socket.
        want = sorted(s.kernel_key() for s in self.socks if s.state != BOUND)
        # read three times before giving up: a /proc/net/tcp read resumes
        # by its place in a hash chain, and can skip a line when the
        # table changed between two of its reads
        for _ in range(3):
            got = sorted(kernel_sockets())
            if want == got:
                break
            time.sleep(0.2)
        if want != got:
            missing = [k for k in want if k not in got]
            extra = [k for k in got if k not in want]
            gone = [s for s in self.socks if s.state == TIME_WAIT and s.kernel_key() in missing]
            if not extra and len(gone) == len(missing):
                # a TIME_WAIT socket the kernel ended early, as time_wait()
                # may find at once: the model follows the kernel, and says so
                print("note: TIME_WAIT sockets gone early %r; the model drops them "
                      "(TcpExt: %s)" % (gone, tcp_counters()), flush=True)
                for s in gone:
                    self.socks.remove(s)
                return
            raise RuntimeError("kernel sockets differ from the test model:\n"
                               "  missing %r\n  extra %r" % (missing, extra))


# ---------------------------------------------------------------------------
# kernel view via /proc/net (independent of portview)


def _proc_addr(h):
    raw = bytes.fromhex(h)
    # Each 32-bit word is printed in host (little-endian) order.
    return b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))


def kernel_sockets():
    out = []
    for proto, fam, name in (("TCP", 4, "tcp"), ("TCP", 6, "tcp6"),
                             ("UDP", 4, "udp"), ("UDP", 6, "udp6")):
        with open("/proc/net/" + name) as f:
            next(f)
            for line in f:
                w = line.split()
                la, lp = w[1].split(":")
                ra, rp = w[2].split(":")
                out.append((proto, fam, _proc_addr(la), int(lp, 16),
                            _proc_addr(ra), int(rp, 16), int(w[3], 16)))
    return out


def tcp_counters():
    """This namespace's TcpExt counters that say why a socket went early
    (aborts, TIME_WAIT overflow and recycling, orphans, memory), those not 0."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            pairs = zip(names.split()[1:], values.split()[1:])
            return " ".join("%s=%s" % (n, v) for n, v in pairs if v != "0" and any(
                w in n for w in ("Abort", "TW", "TimeWait", "Orphan", "Memory", "Prune")))
    return "?"


def wait_kernel(s, state, timeout=5.0):
    """Wait until s's tuple is in state (None: until it is gone)."""
    key = s.kernel_key()[:6]
    deadline = time.monotonic() + scaled(timeout)
    while True:
        states = [k[6] for k in kernel_sockets() if k[:6] == key]
        if (state is None and not states) or (state in states):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("timeout waiting for %r to reach %s (now %r)"
                               % (s, state, states))
        time.sleep(0.01)


def start_portview(binary, args, **kw):
    """portview running with its output on pipes, PORTVIEW_DEBUG off, for
    a test that reads it as it writes (Popen's keyword arguments too)."""
    env = dict(os.environ)
    env.pop("PORTVIEW_DEBUG", None)
    return subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, **kw)


# valgrind memcheck as the tests run it: any error or definite/indirect
# leak makes the exit status 99.
VALGRIND = ["valgrind", "-q", "--vgdb=no", "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect"]
# valgrind 3.19 knows bpf(2) but not BPF_LINK_CREATE (28) and
# BPF_ITER_CREATE (33), which take an attr and return a descriptor
# without writing the caller's memory: its warning about them is no error.
UNHANDLED_BPF = re.compile(r"^--\d+-- WARNING: unhandled eBPF command (28|33)\n",
                           re.M)


def socket_links(pid):
    """The sockets process pid has open, as their /proc/PID/fd links
    ("socket:[INODE]")."""
    out = set()
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t.startswith("socket:"):
            out.add(t)
    return out


def wait_until(cond, what, timeout=5.0):
    """Poll cond() until it returns a true value, which is returned.

    Raises RuntimeError naming what after timeout seconds.  For the tests'
    condition waits: never a fixed sleep where the condition can be seen.
    """
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    with waiting_for(what):
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise RuntimeError("timeout (%.1f s) waiting for %s" % (
                    timeout, what))
            time.sleep(0.01)


# /proc/net/tcp's "tr" codes, which are inet_diag's idiag_timer codes too.
TIMER_CODES = {0: "off", 1: "on", 2: "keepalive", 3: "timewait", 4: "probe"}


def kernel_tcp():
    """{(family, laddr, lport, raddr, rport): info} from /proc/net/tcp*.

    info has state, txq, rxq (the queues as /proc shows them: the same
    numbers as inet_diag's), timer (a TIMER_CODES name), retr and probes
    (the "retrnsmt" and "timeout" columns, which netstat -o prints after
    the timer's seconds), uid and inode.
    """
    out = {}
    for fam, name in ((4, "tcp"), (6, "tcp6")):
        with open("/proc/net/" + name) as f:
            next(f)
            for line in f:
                w = line.split()
                la, lp = w[1].split(":")
                ra, rp = w[2].split(":")
                txq, rxq = w[4].split(":")
                tr = int(w[5].split(":")[0], 16)
                out[(fam, _proc_addr(la), int(lp, 16), _proc_addr(ra),
                     int(rp, 16))] = {
                    "state": int(w[3], 16), "txq": int(txq, 16),
                    "rxq": int(rxq, 16),
                    "timer": TIMER_CODES.get(tr, "code %d" % tr),
                    "retr": int(w[6]), "probes": int(w[8]),
                    "uid": int(w[7]), "inode": int(w[9])}
    return out


def wait_tcp(s, timeout=5.0, **want):
    """Wait until the kernel shows TCP socket s with these info values
    (see kernel_tcp), e.g. wait_tcp(s, rxq=100, timer="off")."""
    key = (s.family, s.laddr.packed, s.lport, s.raddr.packed, s.rport)
    last = []

    def ok():
        info = kernel_tcp().get(key)
        last[:] = [info]
        return info is not None and all(info[k] == v
                                        for k, v in want.items())
    try:
        wait_until(ok, "%r to show %r" % (s, want), timeout)
    except RuntimeError as e:
        raise RuntimeError("%s; the kernel shows %r" % (e, last[0]))


# ---------------------------------------------------------------------------
# expected output


def select(socks, all=False, listening=False, tcp=False, udp=False,
           v4=False, v6=False, states=None):
    """The sockets portview shows for the given options (spec semantics)."""
    if states is None:
        if listening:
            states = {LISTEN, CLOSE}
        elif all:
            states = ALL_STATES
        else:
            states = ALL_STATES - {LISTEN, CLOSE, BOUND}
    out = []
    for s in socks:
        if s.state not in states:
            continue
        if (tcp or udp) and not (tcp and s.proto == "TCP" or
                                 udp and s.proto == "UDP"):
            continue
        if v4 or v6:
            is4 = s.family == 4 or s.laddr.is_v4_mapped() or \
                s.raddr.is_v4_mapped() or s.dual_stack()
            if not (v4 and is4 or v6 and s.family == 6):
                continue
        out.append(s)
    return out


UNIT_PATTERNS = [
    # (kind, regular expression on one path component, group with the name)
    ("docker", r"docker-([0-9a-f]{12})[0-9a-f]{52}\.scope"),
    ("podman", r"libpod-([0-9a-f]{12})[0-9a-f]{52}\.scope"),
    ("containerd", r"cri-containerd-([0-9a-f]{12})[0-9a-f]{52}\.scope"),
    ("cri-o", r"crio-([0-9a-f]{12})[0-9a-f]{52}\.scope"),
]


def unit_of_path(path):
    """What a cgroup path says runs the process, as portview's JSON "unit"
    should: a pod's UID, else a container's short ID, else the deepest
    systemd service or scope; None for none."""
    parts = [p for p in path.split("/") if p]
    for p in reversed(parts):
        m = re.fullmatch(r"kubepods(?:-\w+)*-pod([0-9a-f_-]{36})\.slice", p) \
            or re.fullmatch(r"pod([0-9a-f-]{36})", p)
        if m:
            return {"kind": "pod", "name": m.group(1).replace("_", "-")}
    for p in reversed(parts):
        for kind, rx in UNIT_PATTERNS:
            m = re.fullmatch(rx, p)
            if m:
                return {"kind": kind, "name": m.group(1)}
    for i in range(len(parts) - 1, 0, -1):
        if parts[i - 1] == "docker" and re.fullmatch(r"[0-9a-f]{64}", parts[i]):
            return {"kind": "docker", "name": parts[i][:12]}
    for p in reversed(parts):
        if p.endswith(".service"):
            return {"kind": "service", "name": p}
        if p.endswith(".scope"):
            return {"kind": "scope", "name": p}
    return None


def unit_of_pid(pid):
    """unit_of_path for the cgroup v2 line of /proc/PID/cgroup (else
    systemd's v1 line)."""
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    v2 = [ln[3:] for ln in lines if ln.startswith("0::")]
    v1 = [ln.split(":", 2)[2] for ln in lines if ":name=systemd:" in ln]
    path = (v2 or v1 or [ln.split(":", 2)[2] for ln in lines[:1]] or ["/"])[0]
    return unit_of_path(path)


def escape_pieces(b):
    """Untrusted bytes as portview shows them (process names in the table,
    input echoed in messages), as a list of pieces: a backslash as \\\\,
    each byte of a C0 control, DEL, a C1 control or invalid UTF-8 as
    \\xNN, each other character as is."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c < 0x80:
            if c < 0x20 or c == 0x7f:
                out.append("\\x%02x" % c)
            elif c == 0x5c:
                out.append("\\\\")
            else:
                out.append(chr(c))
            i += 1
            continue
        for n in (2, 3, 4):
            try:
                ch = b[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                if 0x80 <= ord(ch) <= 0x9f:
                    out.extend("\\x%02x" % x for x in b[i:i + n])
                else:
                    out.append(ch)
                i += n
                break
        else:
            out.append("\\x%02x" % c)
            i += 1
    return out


def escape_comm(b):
    return "".join(escape_pieces(b))


def echo(b, limit=64):
    """User input as an error message echoes it: escaped, and cut with
    "..." once the escaped text would pass limit bytes."""
    out, used = [], 0
    pieces = escape_pieces(b)
    for k, piece in enumerate(pieces):
        n = len(piece.encode("utf-8"))
        if used + n > limit:
            return "".join(out) + "..."
        out.append(piece)
        used += n
    return "".join(out)


EXTENDED_TITLES = ["User", "Inode", "Recv-Q", "Send-Q", "Timer"]


def render_table(socks, comms=None, owner=False, program=False,
                 extended=None, key=None, reverse=False, header=True,
                 wide=False, compact=False, indent=2):
    """Exact stdout portview must print for these sockets (to a pipe).

    header=False: as with -H, the rows only (laid out as under the header;
    nothing at all when there is no row).

    A socket several processes hold shows the lowest PID and how many more
    ("99 (+2)"), unless wide (-W) or extended (-e), which list them all.

    compact and indent: as a table fitted to a narrow terminal has them
    (columns one wider than their longest cell, without Windows netstat's
    minimum widths; the indent of each line).

    extended: None, or a function of a Sock returning its five -e cells
    (User, Inode, Recv-Q, Send-Q, Timer) as strings.
    key: None for the default order, else a function of a Sock giving its
    --sort key; ties are broken by the default order, and reverse flips
    the whole order, ties included (the rows' tuples must be distinct);
    or a list of (function, reversed) pairs for a list of keys.
    """
    comms = comms or {}
    titles = ["Proto", "Local Address", "Foreign Address", "State"]
    if owner:
        titles.append("PID")
    if program:
        titles.append("PID/Program name")
    if extended:
        titles += EXTENDED_TITLES
    if key is None:
        order = sorted(socks, key=Sock.sort_key, reverse=reverse)
    elif isinstance(key, list):
        # --sort K1,K2: [(function, reversed)...]; ties left by every key
        # go by the default order, in the last key's direction.
        order = sorted(socks, key=Sock.sort_key, reverse=key[-1][1])
        for fn, rev in reversed(key):
            order = sorted(order, key=fn, reverse=rev)  # stable
    else:
        order = sorted(socks, key=lambda s: (key(s), s.sort_key()),
                       reverse=reverse)
    rows = []
    every = wide or bool(extended)
    for s in order:
        pids = sorted(s.owners)
        more = " (+%d)" % (len(pids) - 1) if len(pids) > 1 and not every else ""
        if more:
            pids = pids[:1]
        r = [s.proto, s.local_text(), s.foreign_text(), s.state_text()]
        # '?': unknown (s.unknown: a holder portview cannot see)
        none = "?" if getattr(s, "unknown", False) and not pids else "-"
        if owner:
            r.append((",".join(str(p) for p in pids) or none) + more)
        if program:
            r.append((",".join("%d/%s" % (p, escape_comm(comms[p]))
                               for p in pids) or none) + more)
        if extended:
            r += list(extended(s))
        rows.append(r)
    # Minimum widths (Proto 7, addresses 23, State 16, PID 8); every other
    # column is one wider than its title or its longest cell.
    minimum = {"Proto": 7, "Local Address": 23, "Foreign Address": 23,
               "State": 16, "PID": 8}
    if compact:
        minimum = {}
    widths = [max([minimum.get(t, 0), len(t) + 1] +
                  [len(r[i]) + 1 for r in rows])
              for i, t in enumerate(titles)]
    lines = []
    for r in [titles] + rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths)] + [r[-1]]
        lines.append((" " * indent + "".join(cells)).rstrip(" "))
    if not header:
        return "".join(line + "\n" for line in lines[1:])
    return "\n".join(["", "Active Connections", ""] + lines) + "\n"


def run_on_pty(argv, cols, rows=50, env=None, timeout=30):
    """Run argv with a pseudo-terminal of cols x rows as its standard
    input, output and error, as a user's terminal; return (exit status,
    what it wrote, with the terminal's CR LF turned back into LF)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                         env=env, close_fds=True)
    os.close(slave)
    out = b""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side has gone
            break
        if not data:
            break
        out += data
    os.close(master)
    rc = p.wait(timeout=timeout)
    return rc, out.replace(b"\r\n", b"\n")


def json_address(a):
    """An Addr as JSON's address members write it (inet_ntop, no brackets
    or scope)."""
    t = a.text()
    return t[1:-1].split("%")[0] if t.startswith("[") else t


def port_class(port):
    return ("well-known" if port < 1024 else
            "registered" if port < 49152 else "dynamic")


def ephemeral_range():
    """This namespace's ip_local_port_range, as (low, high); raises when
    some ports are reserved (the models do not handle that)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(v) for v in f.read().split())
    with open("/proc/sys/net/ipv4/ip_local_reserved_ports") as f:
        if f.read().strip():
            raise RuntimeError("ip_local_reserved_ports is not empty")
    return lo, hi


class JsonModel:
    """The --json object portview must print for a model socket.

    Everything but the service names and the cookie, which come from the
    registry and the kernel.  Asks the holders for each socket's inode and
    descriptor when created: make it once the world is built.
    """

    def __init__(self, world):
        self.w = world
        self.ephemeral = ephemeral_range()
        with open("/proc/sys/net/core/somaxconn") as f:
            self.somaxconn = int(f.read())
        self.inodes = {id(s): world.inode(s) for s in world.socks}
        self.fds = {id(s): world.fd(s) for s in world.socks if s.holder}

    def json(self, s, rx_queue=0, tx_queue=None):
        """tx_queue: None for the listener's backlog (TCP listeners made by
        World.tcp_listen with backlog 128) or 0."""
        lo, hi = self.ephemeral
        bare = s.state in (LISTEN, BOUND) or (s.proto == "UDP" and
                                              s.state == CLOSE)
        pids = sorted(s.owners)
        if tx_queue is None:
            tx_queue = min(128, self.somaxconn) if s.state == LISTEN else 0
        fd = self.fds.get(id(s))
        return {
            "proto": s.proto.lower(),
            "family": "ipv4" if s.family == 4 else "ipv6",
            # the kernel says it of IPv6 listeners and unconnected sockets,
            # and sets it on any bound to an IPv6 address but :: and mapped
            # ones
            "v6only": (None if s.family == 4 or
                       s.state not in (LISTEN, CLOSE, BOUND) else
                       bool(s.v6only) or (s.laddr.packed != bytes(16) and
                                          not s.laddr.is_v4_mapped())),
            "state": (None if s.proto == "UDP" and s.state == CLOSE
                      else s.state_text()),
            "local": {"address": json_address(s.laddr), "port": s.lport,
                      "class": port_class(s.lport),
                      "ephemeral": lo <= s.lport <= hi},
            "foreign": ({"address": None, "port": None, "class": None,
                         "ephemeral": None} if bare else
                        {"address": json_address(s.raddr), "port": s.rport,
                         "class": port_class(s.rport), "ephemeral": None}),
            "interface": s.dev or s.laddr.scope or None,
            "owners": [{"pid": p, "program": self.w.comms[p].decode(
                "utf-8", "replace"), "fd": fd} for p in pids],
            "netns": {"inode": os.stat("/proc/self/ns/net").st_ino,
                      "name": None},
            "unit": unit_of_pid(pids[0]) if pids else None,
            "uid": 0, "user": "root",
            "inode": self.inodes[id(s)] or None,
            "rx_queue": rx_queue, "tx_queue": tx_queue,
            # idle sockets: no timer but TIME_WAIT's (whose time left
            # varies: JsonModel.strip_expiry takes it out)
            "timer": dict({"name": "timewait" if s.state == TIME_WAIT else
                           "off", "retransmits": 0, "probes": 0},
                          **({} if s.state == TIME_WAIT else
                             {"expires_ms": 0})),
        }

    @staticmethod
    def strip_expiry(o):
        """o with its timer's expires_ms taken out where a timer runs."""
        if o.get("timer") and o["timer"]["name"] != "off":
            o["timer"] = {k: v for k, v in o["timer"].items()
                          if k != "expires_ms"}
        return o

    @staticmethod
    def label(o):
        """proto local -> foreign of a JSON object, for messages."""
        def ep(e):
            if e["address"] is None:
                return "-"
            return ("[%s]:%d" if ":" in e["address"] else "%s:%d") % (
                e["address"], e["port"])
        return ("%s %s -> %s %s" % (o["proto"], ep(o["local"]),
                                    ep(o["foreign"]),
                                    o["state"] or "")).rstrip()


# ---------------------------------------------------------------------------
# reporting


def visible(text):
    """Make control characters and undecodable bytes visible in reports."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif o < 0x20 or o == 0x7f:
            out.append("<%02x>" % o)
        elif 0xdc80 <= o <= 0xdcff:      # surrogateescape'd raw byte
            out.append("<raw %02x>" % (o - 0xdc00))
        else:
            out.append(ch)
    return "".join(out)


class Checker:
    def __init__(self):
        self.failures = 0
        self.count = 0

    def ok(self, cond, what, detail=""):
        self.count += 1
        _last_check[0] = ("PASS: " if cond else "FAIL: ") + what
        if cond:
            print("PASS: " + what)
        else:
            self.failures += 1
            print("FAIL: " + what)
            if detail:
                print("      " + detail.replace("\n", "\n      "))
            if os.environ.get("PORTVIEW_TEST_STOP_AT_FAILURE"):
                # the mutation check needs only a verdict: the first
                # failure gives it (cleanup still runs: finally, atexit)
                print("stopping at the first failure "
                      "(PORTVIEW_TEST_STOP_AT_FAILURE)")
                sys.stdout.flush()
                raise SystemExit(1)
        return cond

    def eq(self, got, want, what):
        if got == want:
            return self.ok(True, what)
        if isinstance(got, str) and isinstance(want, str):
            diff = "".join(difflib.unified_diff(
                want.splitlines(True), got.splitlines(True),
                "expected", "got"))
            return self.ok(False, what, "diff (expected -> got, '$' marks "
                           "line ends, <NN> a control byte):\n" +
                           visible(diff.replace("\n", "$\n").rstrip("\n")))
        detail = "expected %r\ngot      %r" % (want, got)
        if isinstance(got, dict) and isinstance(want, dict):
            diff = ["%s: expected %r, got %r" % (k, want.get(k), got.get(k))
                    for k in sorted(set(want) | set(got), key=str)
                    if want.get(k) != got.get(k)]
            detail = "differs in " + "; ".join(diff) + "\n" + detail
        return self.ok(False, what, detail)

    def finish(self):
        print("%d checks, %d failed" % (self.count, self.failures))
        sys.exit(1 if self.failures else 0)


# ---------------------------------------------------------------------------
# --events


class EventStream:
    """A running portview --events, its lines read as they come.  source:
    PORTVIEW_EVENTS for it ("diag", "bpf"), or None for portview's choice."""

    def __init__(self, binary, args, source=None):
        env = dict(os.environ)
        env.pop("PORTVIEW_DEBUG", None)
        env.pop("PORTVIEW_EVENTS", None)
        if source:
            env["PORTVIEW_EVENTS"] = source
        self.p = subprocess.Popen([binary, "--events"] + args,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.lines = []
        self.buf = b""

    def poll(self, timeout=0.05):
        """Read what has come within timeout; whether anything did."""
        r, _, _ = select_module.select([self.p.stdout], [], [], timeout)
        if r:
            data = os.read(self.p.stdout.fileno(), 1 << 20)
            self.buf += data
            *whole, self.buf = self.buf.split(b"\n")
            self.lines += [w.decode() for w in whole]
            return bool(data)
        return False

    def wait(self, cond, what, timeout=30):
        """Read until cond(lines) holds; the lines."""
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        with waiting_for(what):
            while not cond(self.lines):
                if time.monotonic() > deadline:
                    raise RuntimeError("timeout (%d s) waiting for %s; the "
                                       "stream's last lines:\n%s" % (
                                           timeout, what,
                                           "\n".join(self.lines[-10:])))
                self.poll(0.05)
        return self.lines

    def stop(self):
        """SIGINT, then the rest of its lines: (exit status, stderr)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        out, err = self.p.communicate(timeout=scaled(60))
        self.buf += out
        self.lines += [w.decode() for w in self.buf.split(b"\n") if w]
        self.buf = b""
        return self.p.returncode, err.decode()

    def docs(self):
        """The JSON lines, parsed."""
        return [json.loads(l) for l in self.lines if l.startswith("{")]

#!/usr/bin/env python3
"""Record raw netlink sock_diag dumps for portview's unit tests.

Run as root from anywhere:  sudo tests/data/record.py [OUTDIR]

The script re-executes itself once per scenario under `unshare -n`, so each
scenario gets a fresh, private network namespace containing only the sockets
it opens itself.  Sockets use fixed ports, so the *content* of each dump is
reproducible (cookies, inodes, queues, timers, netlink port ids and the order
of sockets inside a dump are not).

For every dump it writes:
  NAME.bin       the exact bytes received from the kernel: all datagrams of
                 one dump, concatenated, up to and including the datagram
                 that holds NLMSG_DONE (or NLMSG_ERROR).
  NAME.expected  one line per SOCK_DIAG_BY_FAMILY message, from this script's
                 own parse of NAME.bin:
                     family state sport dport src dst ifindex
                 then `done ERR` (int carried by NLMSG_DONE) or `error ERR`
                 (NLMSG_ERROR), or `truncated` if the bytes end inside a
                 message.

Python 3 standard library only.
"""

import collections
import os
import socket
import struct
import subprocess
import sys
import time

# --- netlink / sock_diag constants (linux/netlink.h, linux/sock_diag.h,
# linux/inet_diag.h) ---------------------------------------------------------
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x001
NLM_F_DUMP = 0x300          # NLM_F_ROOT | NLM_F_MATCH
INET_DIAG_REQ_BYTECODE = 1
ALL_STATES = 0xFFFFFFFF
RECV_BUF = 32 * 1024
SEQ = 1

IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_SCTP = 132          # no sctp_diag in most test kernels

NLMSGHDR = struct.Struct("=IHHII")            # len, type, flags, seq, pid
REQ_V2_HEAD = struct.Struct("=BBBBI")         # family, protocol, ext, pad, states
INET_DIAG_SOCKID_LEN = 48                     # 2+2+16+16+4+8
INET_DIAG_MSG_LEN = 4 + INET_DIAG_SOCKID_LEN + 5 * 4   # 72

# TCP states as the kernel numbers them (include/net/tcp_states.h)
ESTABLISHED, TIME_WAIT, CLOSE, LISTEN = 1, 6, 7, 10

HERE = os.path.dirname(os.path.abspath(__file__))


def nlmsg_align(n):
    return (n + 3) & ~3


# --- request and dump --------------------------------------------------------
def build_request(family, protocol, attrs=b""):
    body = REQ_V2_HEAD.pack(family, protocol, 0, 0, ALL_STATES)
    body += bytes(INET_DIAG_SOCKID_LEN)       # id: all zero, no filtering
    body += attrs
    hdr = NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY,
                        NLM_F_REQUEST | NLM_F_DUMP, SEQ, 0)
    return hdr + body


def raw_dump(family, protocol, attrs=b""):
    """Send one dump request; return the concatenated raw reply datagrams."""
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    try:
        sk.bind((0, 0))
        sk.sendto(build_request(family, protocol, attrs), (0, 0))
        datagrams = []
        while True:
            data, _anc, flags, _addr = sk.recvmsg(RECV_BUF)
            if flags & socket.MSG_TRUNC:
                raise RuntimeError("netlink datagram larger than %d bytes"
                                   % RECV_BUF)
            if not data:
                raise RuntimeError("empty read from netlink socket")
            datagrams.append(data)
            if datagram_finishes_dump(data):
                return b"".join(datagrams)
    finally:
        sk.close()


def datagram_finishes_dump(data):
    off = 0
    while off + NLMSGHDR.size <= len(data):
        length, mtype, _f, _s, _p = NLMSGHDR.unpack_from(data, off)
        if mtype in (NLMSG_DONE, NLMSG_ERROR):
            return True
        if length < NLMSGHDR.size:
            raise RuntimeError("bad nlmsg_len %d from kernel" % length)
        off += nlmsg_align(length)
    return False


# --- independent parser used for the .expected files ------------------------
Sock = collections.namedtuple("Sock", "family state sport dport src dst ifindex")


def fmt_addr(family, raw16):
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw16[:4])
    return socket.inet_ntop(socket.AF_INET6, raw16)


def parse_dump(buf):
    """Return (list of Sock, terminator) where terminator is
    ('done', int) / ('error', int) / ('truncated', None)."""
    socks = []
    off = 0
    while True:
        if len(buf) - off < NLMSGHDR.size:
            return socks, ("truncated", None)
        length, mtype, _flags, _seq, _pid = NLMSGHDR.unpack_from(buf, off)
        if length < NLMSGHDR.size or off + length > len(buf):
            return socks, ("truncated", None)
        payload = buf[off + NLMSGHDR.size: off + length]
        if mtype == NLMSG_DONE or mtype == NLMSG_ERROR:
            if len(payload) < 4:
                return socks, ("truncated", None)
            (err,) = struct.unpack_from("=i", payload, 0)
            rest = buf[off + nlmsg_align(length):]
            if rest:
                raise RuntimeError("%d bytes after terminator" % len(rest))
            return socks, ("done" if mtype == NLMSG_DONE else "error", err)
        if mtype != SOCK_DIAG_BY_FAMILY:
            raise RuntimeError("unexpected nlmsg_type %d" % mtype)
        if len(payload) < INET_DIAG_MSG_LEN:
            return socks, ("truncated", None)
        family, state = payload[0], payload[1]
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError("unexpected family %d" % family)
        sport, dport = struct.unpack_from("!HH", payload, 4)
        src = fmt_addr(family, payload[8:24])
        dst = fmt_addr(family, payload[24:40])
        (ifindex,) = struct.unpack_from("=I", payload, 40)
        socks.append(Sock(4 if family == socket.AF_INET else 6, state,
                          sport, dport, src, dst, ifindex))
        off += nlmsg_align(length)


def expected_text(buf):
    socks, (kind, val) = parse_dump(buf)
    lines = ["%d %d %d %d %s %s %d" % tuple(s) for s in socks]
    lines.append(kind if val is None else "%s %d" % (kind, val))
    return "\n".join(lines) + "\n"


def write_pair(outdir, name, buf):
    with open(os.path.join(outdir, name + ".bin"), "wb") as f:
        f.write(buf)
    with open(os.path.join(outdir, name + ".expected"), "w") as f:
        f.write(expected_text(buf))
    print("  wrote %s.bin (%d bytes) and %s.expected" % (name, len(buf), name))


# --- socket helpers ----------------------------------------------------------
def sh(*args):
    subprocess.run(args, check=True)


KEEP = []   # keep every socket object alive until the process exits


def tcp_listen(family, addr, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind(addr)
    s.listen(16)
    KEEP.append(s)
    return s


def tcp_connect(family, local, remote, listener):
    """Connect from a fixed local address; return (client, accepted)."""
    c = socket.socket(family, socket.SOCK_STREAM)
    c.bind(local)
    c.connect(remote)
    a, _peer = listener.accept()
    KEEP.extend((c, a))
    return c, a


def make_time_wait(family, local, remote, listener):
    """Active close from the client side: the client ends in TIME_WAIT and
    the server side goes LAST_ACK -> CLOSED (and disappears)."""
    c, a = tcp_connect(family, local, remote, listener)
    c.close()
    a.settimeout(5)
    if a.recv(1) != b"":
        raise RuntimeError("expected EOF on the server side")
    a.close()
    KEEP.remove(c)
    KEEP.remove(a)


def udp_socket(family, local, remote=None, v6only=None):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind(local)
    if remote is not None:
        s.connect(remote)
    KEEP.append(s)
    return s


def make_link_local_dev(name):
    """A device carrying fe80::1/64.  Prefer a dummy device; kernels built
    without CONFIG_DUMMY get one end of a veth pair instead."""
    kind = "dummy"
    r = subprocess.run(["ip", "link", "add", name, "type", "dummy"],
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        kind = "veth"
        sh("ip", "link", "add", name, "type", "veth", "peer", "name",
           name + "peer")
    # no automatic EUI-64 link-local address: keep the namespace tidy
    subprocess.run(["ip", "link", "set", name, "addrgenmode", "none"],
                   stderr=subprocess.DEVNULL)
    if kind == "veth":
        subprocess.run(["ip", "link", "set", name + "peer", "addrgenmode",
                        "none"], stderr=subprocess.DEVNULL)
        sh("ip", "link", "set", name + "peer", "up")
    sh("ip", "link", "set", name, "up")
    sh("ip", "addr", "add", "fe80::1/64", "dev", name, "nodad")
    idx = socket.if_nametoindex(name)
    print("  link-local device %s (%s) has ifindex %d" % (name, kind, idx))
    return idx


# --- scenarios ---------------------------------------------------------------
# Each returns a list of (name, family, protocol, expected multiset) to dump.
# The expected multiset (ignoring order) is checked before writing, and the
# dump is retried briefly so TIME_WAIT transitions can settle.

V4, V6 = socket.AF_INET, socket.AF_INET6
LO4, LO6, MAP = "127.0.0.1", "::1", "::ffff:127.0.0.1"


def scenario_tcp4(outdir):
    lst = tcp_listen(V4, (LO4, 8080))
    tcp_connect(V4, (LO4, 40001), (LO4, 8080), lst)
    make_time_wait(V4, (LO4, 40002), (LO4, 8080), lst)
    want = [
        (4, LISTEN, 8080, 0, LO4, "0.0.0.0", 0),
        (4, ESTABLISHED, 40001, 8080, LO4, LO4, 0),
        (4, ESTABLISHED, 8080, 40001, LO4, LO4, 0),
        (4, TIME_WAIT, 40002, 8080, LO4, LO4, 0),
    ]
    return [("tcp4", V4, IPPROTO_TCP, want)]


def scenario_tcp6(outdir):
    idx = make_link_local_dev("d0")
    lst = tcp_listen(V6, (LO6, 8080))
    tcp_connect(V6, (LO6, 40001), (LO6, 8080), lst)
    make_time_wait(V6, (LO6, 40002), (LO6, 8080), lst)
    # dual-stack listener, IPv4 client: accepted socket is v4-mapped AF_INET6
    dual = tcp_listen(V6, ("::", 8443), v6only=False)
    tcp_connect(V4, (LO4, 40003), (LO4, 8443), dual)
    # link-local listener bound with a scope id, plus one connection to it
    ll = tcp_listen(V6, ("fe80::1", 2222, 0, idx))
    tcp_connect(V6, ("fe80::1", 40004, 0, idx), ("fe80::1", 2222, 0, idx), ll)
    want = [
        (6, LISTEN, 8080, 0, LO6, "::", 0),
        (6, ESTABLISHED, 40001, 8080, LO6, LO6, 0),
        (6, ESTABLISHED, 8080, 40001, LO6, LO6, 0),
        (6, TIME_WAIT, 40002, 8080, LO6, LO6, 0),
        (6, LISTEN, 8443, 0, "::", "::", 0),
        (6, ESTABLISHED, 8443, 40003, MAP, MAP, 0),
        (6, LISTEN, 2222, 0, "fe80::1", "::", idx),
        (6, ESTABLISHED, 40004, 2222, "fe80::1", "fe80::1", idx),
        (6, ESTABLISHED, 2222, 40004, "fe80::1", "fe80::1", idx),
    ]
    return [("tcp6", V6, IPPROTO_TCP, want)]


def scenario_udp4(outdir):
    udp_socket(V4, (LO4, 5353))
    udp_socket(V4, ("0.0.0.0", 5354))
    udp_socket(V4, (LO4, 5000), (LO4, 5353))
    want = [
        (4, CLOSE, 5353, 0, LO4, "0.0.0.0", 0),
        (4, CLOSE, 5354, 0, "0.0.0.0", "0.0.0.0", 0),
        (4, ESTABLISHED, 5000, 5353, LO4, LO4, 0),
    ]
    return [("udp4", V4, IPPROTO_UDP, want)]


def scenario_udp6(outdir):
    udp_socket(V6, (LO6, 5353))
    udp_socket(V6, (LO6, 5000), (LO6, 5353))
    # AF_INET6 socket carrying IPv4: bound and connected to v4-mapped addresses
    udp_socket(V6, (MAP, 5001), (MAP, 5353), v6only=False)
    want = [
        (6, CLOSE, 5353, 0, LO6, "::", 0),
        (6, ESTABLISHED, 5000, 5353, LO6, LO6, 0),
        (6, ESTABLISHED, 5001, 5353, MAP, MAP, 0),
    ]
    return [("udp6", V6, IPPROTO_UDP, want)]


def scenario_errors(outdir):
    """Dumps that end in an error, recorded as the kernel sends them."""
    print("  probing protocols without a diag handler:")
    saved_done = saved_err = False
    for proto in (IPPROTO_SCTP, 136, 255):     # SCTP, UDP-Lite, IPPROTO_RAW
        buf = raw_dump(V4, proto)
        socks, (kind, val) = parse_dump(buf)
        print("    AF_INET protocol %d: %d sockets, %s %d (%d bytes: %s)"
              % (proto, len(socks), kind, val, len(buf), buf.hex()))
        if kind == "done" and val < 0 and not saved_done:
            write_pair(outdir, "done-error", buf)
            saved_done = True
        elif kind == "error" and not saved_err:
            write_pair(outdir, "nlmsg-error", buf)
            saved_err = True
    if not saved_err:
        # A request the kernel rejects outright: bytecode with an unknown op
        # code fails inet_diag_bc_audit() -> NLMSG_ERROR -EINVAL.
        op = struct.pack("=BBH", 255, 4, 8)   # code 255, yes 4, no 8
        attr = struct.pack("=HH", 4 + len(op), INET_DIAG_REQ_BYTECODE) + op
        buf = raw_dump(V4, IPPROTO_TCP, attr)
        socks, (kind, val) = parse_dump(buf)
        print("    AF_INET TCP with invalid bytecode: %s %d (%d bytes)"
              % (kind, val, len(buf)))
        if kind == "error":
            write_pair(outdir, "nlmsg-error", buf)
            saved_err = True
    if not saved_done:
        print("  kernel sent no NLMSG_DONE carrying an error; "
              "done-error.bin will be constructed from udp4.bin")
    return []


SCENARIOS = collections.OrderedDict([
    ("tcp4", scenario_tcp4),
    ("tcp6", scenario_tcp6),
    ("udp4", scenario_udp4),
    ("udp6", scenario_udp6),
    ("errors", scenario_errors),
])


def key(s):
    return tuple(s)


def run_scenario(name, outdir):
    sh("ip", "link", "set", "lo", "up")
    for dump_name, family, proto, want in SCENARIOS[name](outdir):
        want_c = collections.Counter(want)
        for attempt in range(40):
            buf = raw_dump(family, proto)
            socks, term = parse_dump(buf)
            got_c = collections.Counter(key(s) for s in socks)
            if got_c == want_c and term == ("done", 0):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("%s: dump does not match the scenario:\n"
                               "  got  %s %s\n  want %s"
                               % (dump_name, sorted(got_c), term,
                                  sorted(want_c)))
        write_pair(outdir, dump_name, buf)


# --- derived files -----------------------------------------------------------
def make_truncated(outdir):
    """tcp4.bin cut in the middle of its second message's inet_diag_msg."""
    with open(os.path.join(outdir, "tcp4.bin"), "rb") as f:
        buf = f.read()
    (first_len,) = struct.unpack_from("=I", buf, 0)
    cut = nlmsg_align(first_len) + NLMSGHDR.size + 20
    if cut >= len(buf):
        raise RuntimeError("tcp4.bin too short to truncate")
    write_pair(outdir, "truncated", buf[:cut])
    print("  truncated.bin = first %d of %d bytes of tcp4.bin" % (cut, len(buf)))


def construct_done_error(outdir):
    """Fallback only: udp4.bin with its NLMSG_DONE int rewritten to -ENOENT."""
    with open(os.path.join(outdir, "udp4.bin"), "rb") as f:
        buf = bytearray(f.read())
    off = 0
    while True:
        length, mtype, _f, _s, _p = NLMSGHDR.unpack_from(buf, off)
        if mtype == NLMSG_DONE:
            struct.pack_into("=i", buf, off + NLMSGHDR.size, -2)
            break
        off += nlmsg_align(length)
    write_pair(outdir, "done-error", bytes(buf))
    print("  done-error.bin CONSTRUCTED from udp4.bin (DONE int := -2)")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--in-netns":
        run_scenario(sys.argv[2], sys.argv[3])
        return
    if os.geteuid() != 0:
        sys.exit("record.py: must run as root (needs unshare -n and ip)")
    outdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else HERE)
    os.makedirs(outdir, exist_ok=True)
    print("kernel %s %s" % (os.uname().release, os.uname().machine))
    stale = os.path.join(outdir, "done-error.bin")
    if os.path.exists(stale):
        os.remove(stale)
    for name in SCENARIOS:
        print("scenario %s:" % name)
        subprocess.run(["unshare", "-n", "--", sys.executable,
                        os.path.abspath(__file__), "--in-netns", name, outdir],
                       check=True)
    make_truncated(outdir)
    if not os.path.exists(stale):
        construct_done_error(outdir)


if __name__ == "__main__":
    main()

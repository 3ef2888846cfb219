#!/usr/bin/env python3
"""Socket holder used by the portview integration tests.

A holder is a small process that opens sockets on request and keeps them
open until its stdin is closed.  The parent test drives it with one command
per line on stdin and reads exactly one reply line per command on stdout:

    ok [VALUES...]      success
    err MESSAGE         failure (the holder keeps running)

The first line a holder prints is "ready PID" once it has set its name.

Usage: holder.py [COMM_HEX]
    COMM_HEX  optional hex encoding of the bytes to put into /proc/self/comm
              (prctl PR_SET_NAME); hex so that arbitrary bytes can be used.

Addresses are numeric; an IPv6 address may carry a scope as "fe80::1%ifname".
Commands (IDs are small integers naming the sockets this holder keeps):

    tcp_listen ADDR PORT [V6ONLY [BACKLOG [DEV]]] -> ok ID (DEV: bound to that
                                                   interface, SO_BINDTODEVICE)
    tcp_bind ADDR PORT [V6ONLY [REUSEADDR]]     -> ok ID PORT (bound, never
                                                   listening nor connecting;
                                                   PORT 0: the kernel picks;
                                                   SO_REUSEADDR only with
                                                   REUSEADDR 1)
    tcp_connect LADDR LPORT RADDR RPORT         -> ok ID      (blocking)
    tcp_connect_nb LADDR LPORT RADDR RPORT      -> ok ID      (non-blocking,
                                                   for SYN_SENT)
    tcp_connect_auto RADDR RPORT COUNT          -> ok FIRSTID LASTID
        COUNT connections without bind(): the kernel picks each local port
        at connect() as a client's are picked (no SO_REUSEADDR)
    accept ID                                   -> ok NEWID
    udp_bind ADDR PORT [V6ONLY [DEV]]           -> ok ID
    udp_connect LADDR LPORT RADDR RPORT         -> ok ID
    udp_many ADDR FIRSTPORT COUNT               -> ok FIRSTID LASTID
        (FIRSTPORT 0: every socket gets an ephemeral port)
    repair LADDR LPORT RADDR RPORT SNDSEQ RCVSEQ [WINDOW] -> ok ID
        TCP_REPAIR: an ESTABLISHED IPv4 socket without a handshake; with
        WINDOW, the peer is taken to have announced that receive window
        (TCP_REPAIR_WINDOW), so data sent is transmitted (and waits to be
        acknowledged) instead of waiting for the window to open
    inject SRC SPORT DST DPORT SEQ ACK FLAGS [NBYTES] -> ok
        send one raw IPv4 TCP segment (FLAGS is a number, e.g. 2 = SYN),
        with NBYTES bytes of data (default none)
    shutdown ID                                 -> ok         (SHUT_WR)
    send ID NBYTES                              -> ok NBYTES  (blocking)
    keepalive ID [IDLE INTVL]                   -> ok         (SO_KEEPALIVE;
                                                   TCP_KEEPIDLE and
                                                   TCP_KEEPINTVL in seconds)
    inode ID                                    -> ok INODE   (fstat)
    fd ID                                       -> ok FD
    ports ID                                    -> ok LPORT RPORT
        (getsockname and getpeername of a connected socket)
    close ID                                    -> ok
    abort ID                                    -> ok         (SO_LINGER 0,
                                                   then close: a TCP reset,
                                                   no TIME_WAIT)
    reset ID                                    -> ok         (SO_LINGER 0:
        the close sends a reset and the socket leaves the tables at once)
    pace ID CHUNK HZ SECONDS                    -> ok         (a thread sends
        CHUNK bytes HZ times a second for SECONDS, on a fixed schedule that
        catches up when late: CHUNK * HZ bytes a second on average)
    drain ID                                    -> ok         (a thread reads
        and discards until the end of the stream)
    fork [COMM_HEX]                             -> ok CHILDPID
        the child shares every socket open at that moment and lives as
        long as this holder
    nofile N                                    -> ok         (RLIMIT_NOFILE)
"""

import ctypes
import os
import threading
import time
import resource
import socket
import struct
import sys

PR_SET_NAME = 15
SOL_TCP = 6
TCP_REPAIR = 19
TCP_REPAIR_QUEUE = 20
TCP_QUEUE_SEQ = 21
TCP_RECV_QUEUE = 1
TCP_SEND_QUEUE = 2
TCP_REPAIR_OFF_NO_WP = -1
TCP_REPAIR_WINDOW = 29

socks = {}
next_id = [1]
# Write ends of the pipes that keep forked children alive.
child_pipes = []


def set_comm(comm_hex):
    if comm_hex is None:
        return
    name = bytes.fromhex(comm_hex)
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(name, 16)
    if libc.prctl(PR_SET_NAME, buf, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


def sockaddr(addr, port):
    """Return (family, address tuple) for a numeric address string."""
    port = int(port)
    if ":" in addr:
        scope = 0
        if "%" in addr:
            addr, ifname = addr.split("%", 1)
            scope = socket.if_nametoindex(ifname)
        return socket.AF_INET6, (addr, port, 0, scope)
    return socket.AF_INET, (addr, port)


def keep(s):
    i = next_id[0]
    next_id[0] += 1
    socks[i] = s
    return i


def new_socket(family, kind):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def bind_to_device(s, dev):
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())


def cmd_tcp_listen(addr, port, v6only="1", backlog="128", dev=None):
    fam, sa = sockaddr(addr, port)
    s = new_socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    bind_to_device(s, dev)
    s.bind(sa)
    s.listen(int(backlog))
    return [keep(s)]


def cmd_tcp_bind(addr, port, v6only="1", reuseaddr="0"):
    fam, sa = sockaddr(addr, port)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if int(reuseaddr):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind(sa)
    return [keep(s), s.getsockname()[1]]


def connected(kind, laddr, lport, raddr, rport, blocking=True):
    fam, lsa = sockaddr(laddr, lport)
    rfam, rsa = sockaddr(raddr, rport)
    if fam != rfam:
        raise ValueError("address families differ")
    s = new_socket(fam, kind)
    if fam == socket.AF_INET6:
        # Needed for v4-mapped addresses (::ffff:a.b.c.d).
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(lsa)
    if blocking:
        s.connect(rsa)
    else:
        s.setblocking(False)
        err = s.connect_ex(rsa)
        if err not in (0, 115):  # EINPROGRESS
            raise OSError(err, os.strerror(err))
    return [keep(s)]


def cmd_tcp_connect(laddr, lport, raddr, rport):
    return connected(socket.SOCK_STREAM, laddr, lport, raddr, rport)


def cmd_tcp_connect_nb(laddr, lport, raddr, rport):
    return connected(socket.SOCK_STREAM, laddr, lport, raddr, rport, False)


def cmd_udp_connect(laddr, lport, raddr, rport):
    return connected(socket.SOCK_DGRAM, laddr, lport, raddr, rport)


def cmd_tcp_connect_auto(raddr, rport, count):
    fam, rsa = sockaddr(raddr, rport)
    ids = []
    for _ in range(int(count)):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.connect(rsa)
        ids.append(keep(s))
    return [ids[0], ids[-1]]


def cmd_accept(sid):
    c, _ = socks[int(sid)].accept()
    return [keep(c)]


def cmd_udp_bind(addr, port, v6only="1", dev=None):
    fam, sa = sockaddr(addr, port)
    s = new_socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    bind_to_device(s, dev)
    s.bind(sa)
    return [keep(s)]


def cmd_udp_many(addr, first, count):
    first, count = int(first), int(count)
    ports = range(first, first + count) if first else [0] * count
    ids = []
    for port in ports:
        ids += cmd_udp_bind(addr, port)
    return [ids[0], ids[-1]]


def cmd_repair(laddr, lport, raddr, rport, sndseq, rcvseq, window=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(SOL_TCP, TCP_REPAIR, 1)
    s.setsockopt(SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    s.setsockopt(SOL_TCP, TCP_QUEUE_SEQ, int(sndseq))
    s.setsockopt(SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    s.setsockopt(SOL_TCP, TCP_QUEUE_SEQ, int(rcvseq))
    s.bind((laddr, int(lport)))
    s.connect((raddr, int(rport)))
    if window is not None:
        # struct tcp_repair_window: snd_wl1, snd_wnd, max_window, rcv_wnd,
        # rcv_wup
        win = int(window)
        s.setsockopt(SOL_TCP, TCP_REPAIR_WINDOW, struct.pack(
            "=5I", int(rcvseq), win, win, win, int(rcvseq)))
    s.setsockopt(SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP)
    return [keep(s)]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def cmd_inject(src, sport, dst, dport, seq, ack, flags, nbytes="0"):
    srcb, dstb = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", int(sport), int(dport), int(seq),
                      int(ack), 5 << 4, int(flags), 65535, 0, 0)
    tcp += b"y" * int(nbytes)
    pseudo = srcb + dstb + struct.pack("!BBH", 0, socket.IPPROTO_TCP,
                                       len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64,
                     socket.IPPROTO_TCP, 0, srcb, dstb)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        r.sendto(ip + tcp, (dst, 0))
    finally:
        r.close()
    return []


def cmd_shutdown(sid):
    socks[int(sid)].shutdown(socket.SHUT_WR)
    return []


def cmd_send(sid, nbytes):
    data = b"x" * int(nbytes)
    socks[int(sid)].sendall(data)
    return [len(data)]


def cmd_keepalive(sid, idle=None, intvl=None):
    s = socks[int(sid)]
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if idle is not None:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, int(intvl))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(idle))
    return []


def cmd_inode(sid):
    return [os.fstat(socks[int(sid)].fileno()).st_ino]


def cmd_ports(sid):
    s = socks[int(sid)]
    return [s.getsockname()[1], s.getpeername()[1]]


def cmd_fd(sid):
    return [socks[int(sid)].fileno()]


def cmd_close(sid):
    socks.pop(int(sid)).close()
    return []


def cmd_abort(sid):
    s = socks.pop(int(sid))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return []


def cmd_reset(sid):
    s = socks.pop(int(sid))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return []


def _pace(s, chunk, hz, seconds):
    data = b"p" * chunk
    start = time.monotonic()
    try:
        for k in range(int(hz * seconds)):
            delay = start + k / hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s.sendall(data)
    except OSError:  # the test closed it: done
        pass


def cmd_pace(sid, chunk, hz, seconds):
    threading.Thread(target=_pace, daemon=True,
                     args=(socks[int(sid)], int(chunk), float(hz),
                           float(seconds))).start()
    return []


def _drain(s):
    try:
        while s.recv(1 << 16):
            pass
    except OSError:
        pass


def cmd_drain(sid):
    threading.Thread(target=_drain, daemon=True,
                     args=(socks[int(sid)],)).start()
    return []


def cmd_fork(comm_hex=None):
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(wfd)
            for w in child_pipes:
                os.close(w)
            set_comm(comm_hex)
            # Block until the holder (and with it the pipe's write end) dies.
            while os.read(rfd, 1):
                pass
        finally:
            os._exit(0)
    os.close(rfd)
    child_pipes.append(wfd)
    return [pid]


def cmd_nofile(n):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = int(n)
    if hard != resource.RLIM_INFINITY and n > hard:
        n = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return [n]


COMMANDS = {name[4:]: fn for name, fn in globals().items()
            if name.startswith("cmd_")}


def main():
    set_comm(sys.argv[1] if len(sys.argv) > 1 else None)
    out = sys.stdout
    out.write("ready %d\n" % os.getpid())
    out.flush()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            fn = COMMANDS[words[0]]
            values = fn(*words[1:])
            out.write(" ".join(["ok"] + [str(v) for v in values]) + "\n")
        except Exception as e:  # report every failure to the parent
            out.write("err %s: %s\n" % (words[0], repr(e).replace("\n", " ")))
        out.flush()
    for s in socks.values():
        s.close()


if __name__ == "__main__":
    main()

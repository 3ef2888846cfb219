#!/usr/bin/env python3
"""Write the seed corpora in tests/fuzz/corpus/ (re-run to regenerate them).

Usage: tests/fuzz/make-seeds.py [CORPUS_DIR]

diag_parse: the recorded dumps of tests/data/*.bin, and dumps built from
them with truncated messages, lying lengths (0, 15, past the end, 2^31 and
more), unknown attributes and message types, the control messages, records
with tcp_info of several lengths and destroy messages naming a protocol.
options: typical option values, one per line.  services: a few
/etc/services-style files.  bytecode: clause sets in the encoding
fuzz_bytecode.c reads.  owner_records: BPF iterator record streams.
Deterministic: the same files every time.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18  # replies to the both-families TCP request
NLM_F_MULTI, NLM_F_DUMP_INTR = 0x2, 0x10
AF_INET, AF_INET6 = 2, 10


def align(n):
    return (n + 3) & ~3


def nlmsg(mtype, payload, flags=NLM_F_MULTI, length=None, seq=1, pid=0):
    """A netlink message; length overrides nlmsg_len (the padding stays real)."""
    real = 16 + len(payload)
    hdr = struct.pack("=IHHII", real if length is None else length, mtype, flags, seq, pid)
    return hdr + payload + b"\0" * (align(real) - real)


def diag_msg(family=AF_INET, state=1, sport=40000, dport=80, src=b"\x7f\0\0\1",
             dst=b"\x7f\0\0\1", ifindex=0, cookie=(1, 0), inode=1234, uid=1000):
    src = src.ljust(16, b"\0")
    dst = dst.ljust(16, b"\0")
    return (struct.pack("=BBBB", family, state, 0, 0) +
            struct.pack(">HH", sport, dport) + src + dst +
            struct.pack("=III", ifindex, cookie[0], cookie[1]) +
            struct.pack("=IIIII", 0, 0, 0, uid, inode))


def attr(atype, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, atype) + data + b"\0" * (align(n) - n)


def done(status=0):
    return nlmsg(NLMSG_DONE, struct.pack("=i", status))


def error(err, echo=None):
    echo = echo if echo is not None else struct.pack("=IHHII", 16, 20, 0x301, 1, 0)
    return nlmsg(NLMSG_ERROR, struct.pack("=i", err) + echo, flags=0)


def sock(**kw):
    extra = kw.pop("attrs", b"")
    return nlmsg(SOCK_DIAG_BY_FAMILY, diag_msg(**kw) + extra)


def with_len(msg, length):
    return struct.pack("=I", length) + msg[4:]


def diag_seeds(read):
    tcp4 = read("tcp4.bin")
    first_len = struct.unpack_from("=I", tcp4)[0]
    first, rest = tcp4[:align(first_len)], tcp4[align(first_len):]
    s = {}
    for name in ("tcp4", "tcp6", "udp4", "udp6", "done-error", "nlmsg-error", "truncated"):
        s["rec-" + name] = read(name + ".bin")
    s["done-0"] = done(0)
    s["done-positive"] = done(7)
    s["done-short"] = nlmsg(NLMSG_DONE, b"")
    s["done-then-junk"] = sock() + done(0) + b"\xab" * 40
    s["error-positive"] = error(22)
    s["error-short"] = nlmsg(NLMSG_ERROR, b"\xea\xff\xff\xff" + b"\0" * 12, flags=0)
    s["error-intmin"] = error(-2 ** 31)
    s["ack-then-done"] = error(0) + sock() + done(0)
    s["noop-overrun-then-done"] = (nlmsg(NLMSG_NOOP, b"") + sock() +
                                   nlmsg(NLMSG_OVERRUN, b"\0" * 4) + nlmsg(15, b"") + done(0))
    s["unknown-types"] = (nlmsg(0x1234, b"\x01" * 9) + sock(cookie=(2, 0)) +
                          nlmsg(0xffff, b"") + nlmsg(21, diag_msg()) + done(0))
    s["unknown-attrs"] = (sock(attrs=attr(0x7fff, b"\x55" * 5) + attr(8, b"\x01") +
                               attr(0, b"")) +
                          sock(cookie=(3, 0), attrs=struct.pack("=HH", 0xffff, 1)) + done(0))
    s["dump-intr"] = sock() + nlmsg(SOCK_DIAG_BY_FAMILY, diag_msg(cookie=(9, 0)),
                                    flags=NLM_F_MULTI | NLM_F_DUMP_INTR) + done(0)
    s["tcpdiag-getsock"] = (nlmsg(TCPDIAG_GETSOCK, diag_msg(cookie=(7, 0))) +
                            nlmsg(TCPDIAG_GETSOCK, diag_msg(family=AF_INET6, src=b"\0" * 15 + b"\1",
                                                            cookie=(8, 0))) + done(0))
    s["family-0"] = sock(family=0) + done(0)
    s["family-v6"] = sock(family=AF_INET6, src=b"\xfe\x80" + b"\0" * 13 + b"\1", ifindex=3,
                          cookie=(0xffffffff, 0xffffffff)) + done(0)
    s["short-payload"] = nlmsg(SOCK_DIAG_BY_FAMILY, diag_msg()[:71]) + done(0)
    s["dup-cookies"] = (sock(cookie=(5, 5)) + sock(cookie=(5, 5), sport=1) +
                        sock(cookie=(0, 0)) + sock(cookie=(0, 0)) +
                        sock(cookie=(0xffffffff, 0xffffffff)) + done(0))
    s["odd-len-17"] = nlmsg(NLMSG_NOOP, b"\x01") + done(0)
    s["len-0"] = with_len(first, 0) + rest
    s["len-15"] = with_len(first, 15) + rest
    s["len-past-end"] = first + with_len(rest, len(rest) + 4)
    s["len-2^31"] = with_len(first, 2 ** 31) + rest
    s["len-2^32-1"] = first + with_len(rest, 0xffffffff)
    s["len-2^31-in-done"] = first + with_len(done(0), 0x80000014)
    s["cut-in-header"] = tcp4[:align(first_len) + 10]
    s["cut-before-done"] = tcp4[:-20]
    s["empty"] = b""
    # -i: tcp_info (INET_DIAG_INFO, 2) at the lengths kernels sent; the
    # destroy groups' messages name their protocol (INET_DIAG_PROTOCOL, 10)
    info = bytearray(232)
    for off, fmt, v in ((16, "I", 1448), (36, "I", 1), (44, "I", 120), (52, "I", 3400),
                        (68, "I", 42000), (72, "I", 21000), (80, "I", 10), (100, "I", 3),
                        (120, "Q", 1000001), (128, "Q", 2000000), (136, "I", 900),
                        (140, "I", 800), (160, "Q", 125000000), (200, "Q", 1000500)):
        struct.pack_into("=" + fmt, info, off, v)
    info = bytes(info)
    s["tcp-info"] = (sock(attrs=attr(2, info)) + sock(cookie=(4, 0), attrs=attr(2, info[:104])) +
                     sock(cookie=(6, 0), attrs=attr(2, info[:150])) +
                     sock(cookie=(10, 0), attrs=attr(2, info + b"\1" * 48)) +
                     sock(cookie=(11, 0), attrs=attr(2, info[:103])) + done(0))
    s["destroy"] = (sock(state=7, attrs=attr(10, b"\x06") + attr(14, b"") + attr(2, info)) +
                    sock(cookie=(7, 0), attrs=attr(10, b"\x11")) +
                    sock(cookie=(8, 0), attrs=attr(10, b"\x84")) + sock(cookie=(9, 0)))
    return s


OPTION_SEEDS = {
    "typical": b"established,listen\nwell-known,ephemeral\n22,80,1000-2000,http\n"
               b"32768\t60999\n1-10,8080,50000-50010\ncaf\xc3\xa9 \\ \x1b[31m\n",
    "states": b"ESTAB,time-wait,FIN_WAIT_1,syn-recv\nall\nconnected,synchronized\n"
              b"bucket,big,unconn\nclosing,last-ack,close-wait\n,listen,\n",
    "classes": b"dynamic\nregistered,Well-Known\nephemeral,dynamic,\nbogus\n",
    "ports": b"ssh,https,domain\n0-65534,65535\n65535,65536\n100-50\nhttp-alt,x11\n"
             b"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
             b"29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,"
             b"54,55,56,57,58,59,60,61,62,63,64,65\n",
    "sysctl": b"  32768 60999  \n1024 1024\n60999 32768\n10,20-30,40\n 8080\n\n",
    "escape": b"\xe2\x80\x8b\xc2\x9b\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\x7f\\x41\x00bin\n"
              b"\xf0\x9f\x98\x80 ok\n",
    "summary": b"80\n80%\n100\n101\n007\n%\n80%%\n7.5\n-1\n"
               b"nginx\nx\"y\\z\nca\xc3\xa9\x1b[2J\xff\n",
    "seconds": b"5\n0.5\n.25\n0.1\n0.099\n86400\n86400.000\n86400.001\n1.2345\n5.\n.\n"
               b"0000000000001.5\n1e3\n",
}

SERVICES_SEEDS = {
    "etc-services": b"""# Network services, Internet style
tcpmux		1/tcp				# TCP port service multiplexer
echo		7/tcp
echo		7/udp
ssh		22/tcp				# SSH Remote Login Protocol
domain		53/tcp
domain		53/udp
http		80/tcp		www		# WorldWideWeb HTTP
https		443/tcp
https		443/udp
sctp-tunneling	9899/sctp
dccp-test	5001/dccp
""",
    "odd-lines": (b"web 80/tcp WWW  www-http\tW3 #comment with \xff bytes\r\n"
                  b"Web 80/tcp alt\n"
                  b"dup 80/tcp\n"
                  b"   indented\t\t8080/udp\v\fproxy\r\n"
                  b"bad 80/TCP\n"
                  b"big 65536/tcp\n"
                  b"zero 0/tcp\n"
                  b"max 65535/udp a b c d e f g h\n"
                  b"lead 00022/tcp\n"
                  b"utf8 \xc3\xa9/tcp\n"
                  b"nul 25/tcp\x00x\n"
                  b"noproto 25/\n"
                  b"/tcp x\n"
                  b"name 25/tcp/x\n"
                  b"hash#name 25/tcp\n"
                  b"onlyname\n"
                  b"last 12345/sctp nonewline"),
    "long-line": b"short 1/tcp\n" + b"long 2/tcp " + b"a" * 1100 + b"\n"
                 b"edge 3/tcp " + b"b" * (1024 - 11) + b"\n" + b"after 4/udp\n",
    "big": b"#BIG\nin 1000/tcp inside\nstraddle 1001/tcp " + b"x" * 200 + b"\n"
           b"out 1002/tcp outside\n",
}


def bc(nclauses, clauses, pairs=()):
    """clauses: (sides_byte, mode, base, [(lo, hi), ...]) in fuzz_bytecode's encoding."""
    out = bytearray([nclauses - 1])
    for sides, mode, base, ranges in clauses:
        out += bytes([sides, len(ranges), mode])
        if mode & 1:
            out += struct.pack(">H", base)
            for lo, hi in ranges:
                out += bytes([lo, hi])
        else:
            for lo, hi in ranges:
                out += struct.pack(">HH", lo, hi)
    for s, d in pairs:
        out += struct.pack(">HH", s, d)
    return bytes(out)


BYTECODE_SEEDS = {
    "one-port": bc(1, [(3, 0, 0, [(22, 22)])], [(22, 5), (5, 22), (23, 23)]),
    "src-dst-any": bc(3, [(1, 0, 0, [(1024, 65535)]), (2, 0, 0, [(80, 80), (443, 443)]),
                          (3, 0, 0, [(0, 0), (65535, 65535)])]),
    "full-range": bc(2, [(3, 0, 0, [(0, 65535)]), (1, 0, 0, [(1, 1)])]),
    "sides-0": bc(1, [(8, 0, 0, [(1, 2)])]),
    "no-ranges": bc(1, [(3, 0, 0, [])]),
    "window": bc(2, [(3, 1, 65400, [(i * 8, i * 8 + 4) for i in range(32)]),
                     (2, 1, 0, [(0, 255), (4, 4)])]),
    "max-ranges": bc(3, [(3, 0, 0, [(i * 1000, i * 1000 + (i % 3)) for i in range(64)]),
                         (3, 0, 0, [(i, i) for i in range(64)]),
                         (3, 0, 0, [(65535 - i, 65535) for i in range(64)])]),
}


# owner_records: a chunk-size byte, then BPF iterator records
# (include/portview/owner_records.h, host order: little-endian here).
REC_TASK, REC_FD = 0x4b534154, 0x20204446


def rec_task(tgid, tid, comm, uid=0):
    return struct.pack("<IiiI16s", REC_TASK, tgid, tid, uid, comm)


def rec_fd(tgid, fd, inode):
    return struct.pack("<IiiI", REC_FD, tgid, fd, inode)


OWNER_RECORD_SEEDS = {
    "one": bytes([255]) + rec_task(100, 100, b"nginx") + rec_fd(100, 3, 1000) +
    rec_fd(100, 4, 2000),
    "two-procs": bytes([7]) + rec_task(100, 100, b"nginx") + rec_fd(100, 3, 1000) +
    rec_task(200, 200, b"nginx") + rec_fd(200, 7, 1000),
    "threads": bytes([31]) + rec_task(100, 101, b"w") + rec_fd(100, 3, 1000) +
    rec_task(100, 102, b"w") + rec_fd(100, 3, 1000) + rec_fd(100, 5, 1000) +
    rec_task(100, 103, b"w") + rec_fd(100, 4, 3000),
    "comm16": bytes([15]) + rec_task(300, 300, b"a-name-of-16-chX") + rec_fd(300, 9, 3000),
    "cut": bytes([0]) + rec_task(100, 100, b"x") + rec_fd(100, 3, 1000)[:10],
    "bad-order": bytes([3]) + rec_fd(100, 3, 1000),
}


def write(dirpath, name, data):
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(data)


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "corpus")
    data_dir = os.path.join(TOP, "tests", "data")

    def read(name):
        with open(os.path.join(data_dir, name), "rb") as f:
            return f.read()

    for name, seeds in (("diag_parse", diag_seeds(read)), ("options", OPTION_SEEDS),
                        ("services", SERVICES_SEEDS), ("bytecode", BYTECODE_SEEDS),
                        ("owner_records", OWNER_RECORD_SEEDS)):
        for seed, data in seeds.items():
            write(os.path.join(out, name), seed, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

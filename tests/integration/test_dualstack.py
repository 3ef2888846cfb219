#!/usr/bin/env python3
"""IPv6 sockets that take IPv4 too (IPV6_V6ONLY off) under -4, in the
table and in JSON.

In a private network namespace a holder named pv-dual listens on [::]:8080
with IPV6_V6ONLY off (a dual-stack listener) and on [::]:80 with it on,
binds UDP [::]:5353 (off) and [::]:5354 (on), listens on 127.0.0.1:7000
and on [::1]:7001 with the option off (a specific IPv6 address takes no
IPv4: bind() sets the option).  An IPv4 client, pv-client, connects to
127.0.0.1:8080: the dual-stack listener accepts it, over an IPv6 socket
with IPv4-mapped addresses.

  -ln -4     the IPv4 listeners and the dual-stack ones (*:8080, *:5353),
             not [::]:80, [::]:5354 nor [::1]:7001
  -an -4     the same, and both ends of the IPv4 connection
  -ln -6     every IPv6 socket, dual-stack ones included
  -ln        all of them; a dual-stack wildcard shows as *:PORT (as ss
             shows it), an IPv6-only one as [::]:PORT
  --json -l  "v6only": false for the dual-stack sockets, true for the
             IPv6-only ones and [::1]:7001, null for IPv4 sockets; and a
             connected IPv6 socket has null (the kernel does not say)

Exact tables; exit status 0 and empty stderr throughout.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    common.enter_netns()
    binary = common.require_portview()
    w = common.World()
    try:
        h = w.holder("pv-dual")
        c = w.holder("pv-client")
        dual = w.tcp_listen(h, "::", 8080, v6only=0)
        w.tcp_listen(h, "::", 80, v6only=1)
        w.udp_bind(h, "::", 5353, v6only=0)
        w.udp_bind(h, "::", 5354, v6only=1)
        w.tcp_listen(h, "127.0.0.1", 7000)
        w.tcp_listen(h, "::1", 7001, v6only=0)
        w.tcp_connect(c, "127.0.0.1", 40000, dual, "127.0.0.1")
        w.check_kernel()
        check(w, binary, h)
    finally:
        w.stop()


def check(w, binary, h):
    ck = common.Checker()
    for argv, sel in ((["-ln", "-4"], {"listening": True, "v4": True}),
                      (["-an", "-4"], {"all": True, "v4": True}),
                      (["-ln", "-6"], {"listening": True, "v6": True}),
                      (["-ln"], {"listening": True}),
                      (["-an", "-4", "-6"], {"all": True})):
        for extra, owner in (([], False), (["-o"], True)):
            rows = common.select(w.socks, **sel)
            want = common.render_table(rows, w.comms, owner)
            rc, out, err = common.run_portview(argv + extra, binary,
                                               plain=True)
            name = "portview %s" % " ".join(argv + extra)
            ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
            ck.eq(out, want, name + ": exact table (%d rows)" % len(rows))

    # The rows that matter, spelt out.
    rc, out, err = common.run_portview(["-ln", "-4"], binary, plain=True)
    ck.eq(sorted(line.split()[1] for line in out.splitlines()[4:]),
          sorted(["127.0.0.1:7000", "*:8080", "*:5353"]),
          "-ln -4: 127.0.0.1:7000 and the dual-stack *:8080 and *:5353")
    rc, out, err = common.run_portview(["-ln", "--port", "80,8080"], binary,
                                       plain=True)
    ck.eq(out.splitlines()[4:], [
        "  TCP    [::]:80                [::]:0                 LISTENING",
        "  TCP    *:8080                 [::]:0                 LISTENING"],
        "-ln: [::]:80 (IPv6 only) and *:8080 (dual-stack) tell apart")
    rc, out, err = common.run_portview(["-l", "-4", "--port", "8080"],
                                       binary)
    ck.eq(out.splitlines()[4:], [
        "  TCP    *:http-alt             [::]:0                 LISTENING"
        "       http-alt registered -"],
        "-l -4 (names): the dual-stack listener as *:http-alt")

    rc, out, err = common.run_portview(["--json", "-a"], binary)
    ck.eq((rc, err), (0, ""), "--json -a: exit 0, stderr empty")
    got = {(o["proto"], o["local"]["address"], o["local"]["port"],
            o["state"]): o["v6only"] for o in json.loads(out)}
    model = common.JsonModel(w)
    want = {(s.proto.lower(), common.json_address(s.laddr), s.lport,
             model.json(s)["state"]): model.json(s)["v6only"]
            for s in w.socks}
    ck.eq(got, want, "--json -a: v6only of every socket")
    ck.eq([got[("tcp", "::", 8080, "LISTENING")],
           got[("tcp", "::", 80, "LISTENING")],
           got[("udp", "::", 5353, None)], got[("udp", "::", 5354, None)],
           got[("tcp", "::1", 7001, "LISTENING")],
           got[("tcp", "127.0.0.1", 7000, "LISTENING")],
           got[("tcp", "::ffff:127.0.0.1", 8080, "ESTABLISHED")]],
          [False, True, False, True, True, None, None],
          "--json: v6only false, true, false, true, true ([::1]), null "
          "(IPv4), null (connected)")
    ck.finish()


if __name__ == "__main__":
    main()

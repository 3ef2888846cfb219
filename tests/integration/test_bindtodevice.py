#!/usr/bin/env python3
"""Sockets bound to a device (SO_BINDTODEVICE): ADDR%DEV:PORT, --dev.

In a private network namespace with a veth pair made for the test (pv0,
pv1; 10.9.9.1 and fe80::1 on pv0), a holder named pv-dev binds:

  UDP 0.0.0.0:9997 twice, to pv0 and to lo (one address and port, two
      sockets, as a DHCP or mDNS daemon does per interface)
  UDP [::]:9998 (IPv6 only) to pv0, TCP 0.0.0.0:8081 listening on pv1,
  TCP [::]:8082 (dual-stack) listening on lo,
  UDP [fe80::1%pv0]:5000, whose scope is pv0 (the kernel binds it there),
  and, bound to no device, UDP 0.0.0.0:9999 and TCP 127.0.0.1:8083.

Exact tables: -ln shows 0.0.0.0%pv0:9997 and 0.0.0.0%lo:9997 as two rows
(ordered by interface index), [::]%pv0:9998, 0.0.0.0%pv1:8081,
*%lo:8082, [fe80::1%pv0]:5000 (the scope in the brackets, as before).
Without -n too (a row spelt out).  --dev pv0 (and --dev with pv0's
index) lists only the sockets on pv0, the kernel filtering them
(PORTVIEW_DEBUG: a filter program, and the dump counts only those);
--dev lo only lo's.  --dev with an unknown name, an empty name or 0 is a
usage error: one line, exit 2.  JSON's "interface" names the device.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    common.enter_netns()
    binary = common.require_portview()
    if not common.setup_veth():
        print("SKIP: cannot create a veth pair in the namespace")
        sys.exit(common.SKIP)
    w = common.World()
    try:
        h = w.holder("pv-dev")
        w.udp_bind(h, "0.0.0.0", 9997, dev="pv0")
        w.udp_bind(h, "0.0.0.0", 9997, dev="lo")
        w.udp_bind(h, "::", 9998, v6only=1, dev="pv0")
        w.tcp_listen(h, "0.0.0.0", 8081, dev="pv1")
        w.tcp_listen(h, "::", 8082, v6only=0, dev="lo")
        w.udp_bind(h, "fe80::1%pv0", 5000)
        w.udp_bind(h, "0.0.0.0", 9999)
        w.tcp_listen(h, "127.0.0.1", 8083)
        w.check_kernel()
        check(w, binary)
    finally:
        w.stop()


def check(w, binary):
    ck = common.Checker()
    pv0 = socket.if_nametoindex("pv0")

    def on(dev):
        return [s for s in w.socks if (s.dev or s.laddr.scope) == dev]

    for argv, rows in ((["-ln"], w.socks), (["-lno"], w.socks),
                       (["-ln", "--dev", "pv0"], on("pv0")),
                       (["-ln", "--dev", str(pv0)], on("pv0")),
                       (["-ln", "--dev", "lo"], on("lo")),
                       (["-ln", "--dev", "pv1", "--port", "8081"], on("pv1")),
                       (["-ln", "--dev", "pv1", "--port", "9997"], [])):
        owner = "-lno" in argv
        want = common.render_table(rows, w.comms, owner)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s" % " ".join(argv)
        ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        ck.eq(out, want, name + ": exact table (%d rows)" % len(rows))
    ck.eq(len(on("pv0")), 3, "the model has three sockets on pv0")

    rc, out, err = common.run_portview(["-ln", "--port", "9997"], binary,
                                       plain=True)
    ck.eq([line.split()[:3] for line in out.splitlines()[4:]],
          [["UDP", "0.0.0.0%lo:9997", "*:*"],
           ["UDP", "0.0.0.0%pv0:9997", "*:*"]],
          "-ln --port 9997: two rows, 0.0.0.0%lo:9997 (index 1) and "
          "0.0.0.0%pv0:9997")
    rc, out, err = common.run_portview(["-l", "--port", "8081,8082"],
                                       binary, plain=True)
    ck.eq([line.split()[1] for line in out.splitlines()[4:]],
          ["0.0.0.0%pv1:8081", "*%lo:8082"],
          "-l (names): the device in the address, the port by name")

    # The kernel does the filtering.
    os.environ["PORTVIEW_DEBUG"] = "1"
    try:
        rc, out, err = common.run_portview(["-ln", "--dev", "pv0"], binary)
    finally:
        del os.environ["PORTVIEW_DEBUG"]
    counts = re.findall(r"dump: (\d+) sockets in .* filter program (\d+) "
                        r"bytes", err)
    ck.ok(counts and all(int(p) > 0 for _, p in counts) and
          sum(int(n) for n, _ in counts) == 3,
          "--dev pv0: a filter program in every dump, which returned the "
          "3 sockets on pv0 and no other", err)

    for arg, why in (("nosuch", "no such interface"),
                     ("", "empty interface name"),
                     ("0", "not an interface index (1 or more)"),
                     ("pv0\x1b", "no such interface")):
        rc, out, err = common.run_portview(["-l", "--dev", arg], binary)
        shown = "''" if arg == "" else common.escape_comm(arg.encode())
        ck.eq((rc, out, err), (2, "", "portview: --dev %s: %s\n"
                               % (shown, why)),
              "--dev %r: one line, exit 2" % arg)

    rc, out, err = common.run_portview(["-l", "--json"], binary)
    got = sorted((o["proto"], o["local"]["address"], o["local"]["port"],
                  o["interface"]) for o in json.loads(out))
    want = sorted((s.proto.lower(), common.json_address(s.laddr), s.lport,
                   s.dev or s.laddr.scope or None) for s in w.socks)
    ck.eq(got, want, "--json: interface names the device of each socket")
    ck.finish()


if __name__ == "__main__":
    main()

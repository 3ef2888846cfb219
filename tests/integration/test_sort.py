#!/usr/bin/env python3
"""--sort KEY and --sort -KEY for every key, against the test's own order.

In a private network namespace (and PID namespace when available, where
the test picks the PIDs), holders named pv-zulu (PID 300), pv-mike (400)
and pv-alpha (500) open TCP and UDP sockets, IPv4 and IPv6, on distinct
local and foreign addresses and ports, in several states; pv-mike's UDP
socket is shared with a child named pv-bravo (PID 100, the lowest); two
sockets have no owner (TIME_WAIT, a connection left in the accept queue).
The PIDs, the names and the addresses are chosen so that every key gives
a different order: the test checks that first, so that a key compared on
the wrong field cannot pass.

For each key, both directions, portview's whole table (with -o and -p,
and without them for pid and program, which need the owners anyway) must
be exactly the test's rendering in the order that man/portview.8 defines,
computed here from the test's model of the sockets:

  proto    TCP before UDP
  local    IPv4 before IPv6, address bytes, port
  foreign  the same on the foreign side
  state    the State cell's text, byte order (unconnected UDP's "" first)
  pid      the lowest owner PID; no known owner last
  program  that process's name, byte order; no known owner last
  port     the local port

ties broken by the default order, and a leading - reversing the whole
order, ties included.  The JSON document must list the rows in the same
order.  Every run must exit 0 with an empty stderr, and the row count is
checked on its own: an empty table never passes.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def build_world():
    w = common.World()
    zulu = w.holder("pv-zulu", pid=300)
    mike = w.holder("pv-mike", pid=400)
    alpha = w.holder("pv-alpha", pid=500)

    # Shared first: the child shares every socket mike holds at the fork.
    w.udp_bind(mike, "0.0.0.0", 5353)
    w.fork(mike, "pv-bravo", pid=100)

    l1 = w.tcp_listen(zulu, "127.0.0.5", 7000)
    l2 = w.tcp_listen(alpha, "::1", 6000)
    w.udp_bind(zulu, "::1", 6000)
    w.udp_connect(alpha, "127.0.0.2", 9000, "127.0.0.8", 53)
    w.udp_connect(zulu, "127.0.0.6", 3000, "127.0.0.1", 8)
    w.tcp_connect(alpha, "127.0.0.9", 40001, l1, "127.0.0.5")
    w.tcp_connect(mike, "::1", 42000, l2, "::1")
    # FIN_WAIT_2 (mike) and CLOSE_WAIT (zulu).
    w.half_close(*w.tcp_connect(mike, "127.0.0.4", 45000, l1, "127.0.0.5"))
    # TIME_WAIT, no owner.
    w.time_wait(*w.tcp_connect(mike, "::1", 41000, l2, "::1"))
    # Last, as accept() takes the oldest: a server end that nobody
    # accepted, ESTABLISHED without an owner.
    w.tcp_connect(mike, "127.0.0.3", 50000, l1, "127.0.0.5", accept=False)
    return w


def keys(comms):
    """The spec's sort keys as functions of a model socket."""
    def owner_key(s, f):
        return (0, f(min(s.owners))) if s.owners else (1, 0)
    return {
        "proto": lambda s: s.proto != "TCP",
        "local": lambda s: (s.family != 4, s.laddr.packed, s.lport),
        "foreign": lambda s: (s.family != 4, s.raddr.packed, s.rport),
        "state": lambda s: s.state_text().encode(),
        "pid": lambda s: owner_key(s, lambda p: p),
        "program": lambda s: owner_key(s, lambda p: comms[p]),
        "port": lambda s: s.lport,
    }


def main():
    common.enter_netns()
    binary = common.require_portview()
    w = build_world()
    try:
        w.check_kernel()
        print("PIDs: %s; own PID namespace: %s" % (
            {p: c.decode() for p, c in sorted(w.comms.items())},
            common.in_own_pidns()))
        check(w, binary)
    finally:
        w.stop()


def json_rows(doc):
    def ep(e):
        return (e["address"], e["port"])
    return [(o["proto"], ep(o["local"]), ep(o["foreign"])) for o in doc]


def model_json_rows(socks):
    def row(s):
        bare = s.state in (common.LISTEN, common.CLOSE)
        a = common.json_address
        return (s.proto.lower(), (a(s.laddr), s.lport),
                (None, None) if bare else (a(s.raddr), s.rport))
    return [row(s) for s in socks]


def check(w, binary):
    ck = common.Checker()
    socks = w.socks
    n = len(socks)
    ck.eq(len({s.sort_key() for s in socks}), n,
          "model: every socket has its own default-order tuple (%d)" % n)
    k = keys(w.comms)

    def order(key, reverse):
        return sorted(socks, key=lambda s: (k[key](s), s.sort_key()),
                      reverse=reverse)

    # The orders must tell the keys apart (proto's is the default order:
    # the default order starts with the protocol).
    default = sorted(socks, key=common.Sock.sort_key)
    orders = {(key, rev): [id(s) for s in order(key, rev)]
              for key in k for rev in (False, True)}
    same = [(a, b) for a in orders for b in orders
            if a < b and orders[a] == orders[b]]
    ck.eq(same, [], "model: the 14 orders differ from each other")
    ck.eq([key for key in k if key != "proto" and
           orders[(key, False)] == [id(s) for s in default]], [],
          "model: every key but proto changes the default order")
    ck.ok(any(not s.owners for s in socks) and
          any(len(s.owners) > 1 for s in socks),
          "model: sockets without an owner and a shared socket")

    for key in k:
        for rev in (False, True):
            arg = ("-" if rev else "") + key
            rows = order(key, rev)
            variants = [(["-a", "-o", "-p"], True)]
            if key in ("pid", "program"):
                variants.append((["-a"], False))
            for argv, owners in variants:
                argv = argv + ["--sort", arg]
                want = common.render_table(socks, w.comms, owners, owners,
                                           key=k[key], reverse=rev)
                rc, out, err = common.run_portview(argv, binary, plain=True)
                name = "portview %s --plain -n" % " ".join(argv)
                ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
                ck.eq(max(0, len(out.splitlines()) - 4), n,
                      name + ": %d rows" % n)
                ck.eq(out, want, name + ": rows in the --sort %s order"
                      % arg)
            rc, out, err = common.run_portview(["-a", "--json", "--sort",
                                                arg], binary)
            name = "portview -a --json --sort %s" % arg
            ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
            try:
                got = json_rows(json.loads(out))
            except ValueError as e:
                got = "not JSON: %s" % e
            ck.eq(got, model_json_rows(rows), name + ": %d objects in the "
                  "--sort %s order" % (n, arg))

    # Keys are case-insensitive; --sort=KEY; --sort with a filter.
    for argv, key, rev, sel in (
            (["--sort", "PORT"], "port", False, {"all": True}),
            (["--sort=-Program"], "program", True, {"all": True}),
            (["--sort", "-foreign", "-t"], "foreign", True,
             {"tcp": True}),
            (["--sort", "state", "-u"], "state", False,
             {"all": True, "udp": True})):
        sel_socks = common.select(socks, **sel)
        all_flag = ["-a"] if sel.get("all") else []
        argv = all_flag + ["-o"] + argv
        want = common.render_table(sel_socks, w.comms, True, key=k[key],
                                   reverse=rev)
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s --plain -n" % " ".join(argv)
        ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        ck.ok(len(sel_socks) > 1, name + ": the model selects %d rows"
              % len(sel_socks))
        ck.eq(out, want, name + ": stdout")

    # A list of keys: the second orders what the first leaves tied, each
    # in its own direction.
    for arg in ("state,-port", "-proto,pid", "program,-state,foreign",
                "PROTO,-State,port,-local"):
        spec = [(k[name.lstrip("-").lower()], name.startswith("-"))
                for name in arg.split(",")]
        want = common.render_table(socks, w.comms, True, True, key=spec)
        argv = ["-a", "-o", "-p", "--sort", arg]
        rc, out, err = common.run_portview(argv, binary, plain=True)
        name = "portview %s --plain -n" % " ".join(argv)
        ck.eq((rc, err), (0, ""), name + ": exit 0, stderr empty")
        ck.eq(out, want, name + ": rows in that order")
        first = common.render_table(socks, w.comms, True, True,
                                    key=spec[:1])
        ck.ok(want != first, name + ": the later keys change the order "
              "the first key alone gives")
    ck.finish()


if __name__ == "__main__":
    main()

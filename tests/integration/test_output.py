#!/usr/bin/env python3
"""JSON, names, -e, -H, colour and hostile process names.

Runs in a private network namespace with sockets the test opened; the JSON
document, the table and the rows each filter selects (table and JSON) are
compared with the test's own model of those sockets (common.JsonModel,
common.render_table), never with another output of portview, and every
selection must have rows.  The name tests use a name server of the test's
that never answers and records the queries it gets: -n must send none,
a run without -n one per address that /etc/hosts does not name.
(--sort: test_sort.py; the -e values: test_extended.py.)
"""

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HOSTILE = b"\x1b[31mred\n\t\xff"      # ESC sequence, newline, tab, bad UTF-8
HOSTILE_TABLE = "\\x1b[31mred\\x0a\\x09\\xff"
HOSTILE_JSON = "\x1b[31mred\n\t\ufffd"


def run(binary, args, env=None, prefix=()):
    e = dict(os.environ)
    e.setdefault("PORTVIEW_SERVICES", "/dev/null")
    e.pop("NO_COLOR", None)
    e.update(env or {})
    r = subprocess.run(list(prefix) + [binary] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=30)
    return r.returncode, r.stdout, r.stderr.decode()


def main():
    common.enter_netns()
    binary = common.require_portview()
    common.add_lo_addr("::2/128")
    w = common.World()
    srv = w.holder("pv-server")
    bad = w.holder(HOSTILE)
    try:
        l443 = w.tcp_listen(srv, "127.0.0.1", 443)
        l8080 = w.tcp_listen(srv, "::1", 8080)
        w.tcp_listen(srv, "127.0.0.1", 3000)  # hbci for IANA only
        w.udp_bind(srv, "0.0.0.0", 5353)
        w.tcp_connect(bad, "127.0.0.1", 40000, l443, "127.0.0.1")
        w.tcp_connect(bad, "127.0.0.3", 45000, l443, "127.0.0.1")
        w.tcp_connect(bad, "::1", 41000, l8080, "::1")
        w.time_wait(*w.tcp_connect(bad, "127.0.0.2", 42000, l443,
                                   "127.0.0.1"))
        w.check_kernel()
        cases(binary, w, srv.pid, bad.pid)
    finally:
        w.stop()


def cases(binary, w, S, B):
    ck = common.Checker()

    # --- JSON: parses, matches the sockets, matches the table ------------
    rc, out, err = run(binary, ["-an", "--json"])
    ck.eq((rc, err), (0, ""), "--json: exit 0, stderr empty")
    try:
        doc = json.loads(out.decode("utf-8"))
    except ValueError as e:
        ck.ok(False, "--json output parses", str(e))
        ck.finish()
    ck.ok(isinstance(doc, list) and len(doc) == len(w.socks),
          "--json: one object per socket (%d)" % len(w.socks))
    keys = {"proto", "family", "v6only", "state", "local", "foreign",
            "interface", "owners", "netns", "unit", "uid", "user", "inode",
            "cookie", "rx_queue", "tx_queue", "timer"}
    ck.ok(all(set(o) == keys for o in doc), "--json: every object has "
          "exactly the documented keys")
    ck.ok(all(set(o["local"]) == set(o["foreign"]) == {
        "address", "port", "service", "class", "ephemeral"} for o in doc),
        "--json: local and foreign have the documented keys")
    byport = {(o["proto"], o["local"]["address"], o["local"]["port"],
               o["foreign"]["port"]): o for o in doc}
    lst = byport.get(("tcp", "127.0.0.1", 443, None))
    ck.ok(lst is not None and lst["state"] == "LISTENING" and
          lst["foreign"] == {"address": None, "port": None, "service": None,
                             "class": None, "ephemeral": None} and
          lst["local"] == {"address": "127.0.0.1", "port": 443,
                           "service": "https", "class": "well-known",
                           "ephemeral": False} and
          lst["owners"] == [{"pid": S, "program": "pv-server",
                             "fd": lst["owners"][0]["fd"]}] and
          lst["uid"] == 0 and lst["user"] == "root" and
          isinstance(lst["inode"], int) and lst["inode"] > 0 and
          lst["family"] == "ipv4", "--json: the 443 listener", repr(lst))
    cli = byport.get(("tcp", "127.0.0.1", 40000, 443))
    ck.ok(cli is not None and cli["state"] == "ESTABLISHED" and
          cli["local"]["ephemeral"] is True and
          cli["local"]["class"] == "registered" and
          cli["foreign"] == {"address": "127.0.0.1", "port": 443,
                             "service": "https", "class": "well-known",
                             "ephemeral": None} and
          [o["pid"] for o in cli["owners"]] == [B] and
          cli["owners"][0]["program"] == HOSTILE_JSON,
          "--json: a client socket of the hostile process", repr(cli))
    tw = byport.get(("tcp", "127.0.0.2", 42000, 443))
    ck.ok(tw is not None and tw["state"] == "TIME_WAIT" and
          tw["inode"] is None and tw["owners"] == [] and tw["user"] == "root",
          "--json: TIME_WAIT has no inode and no owners", repr(tw))
    udp = byport.get(("udp", "0.0.0.0", 5353, None))
    ck.ok(udp is not None and udp["state"] is None and
          udp["local"]["service"] == "mdns", "--json: unconnected UDP has "
          "a null state", repr(udp))
    v6 = byport.get(("tcp", "::1", 8080, None))
    ck.ok(v6 is not None and v6["family"] == "ipv6", "--json: IPv6", repr(v6))
    ck.ok(b"\x1b" not in out, "--json: no raw ESC byte in the document")

    # The whole document against the test's model of its sockets (service
    # names aside: test_ports.py checks those), in the default order.
    model = common.JsonModel(w)
    strip = [model.strip_expiry({k: v for k, v in o.items() if k != "cookie"})
             for o in doc]
    for o in strip:
        for side in ("local", "foreign"):
            o[side] = {k: v for k, v in o[side].items() if k != "service"}
    want = [model.json(s) for s in sorted(w.socks, key=common.Sock.sort_key)]
    ck.ok(len(want) == len(w.socks) > 0, "model: %d sockets" % len(want))
    ck.eq([model.label(o) for o in strip], [model.label(o) for o in want],
          "--json: the model's sockets, in the default order")
    for g, x in zip(strip, want):
        ck.eq(g, x, "--json: the object for %s" % model.label(x))

    # The table against the model too.
    rc, tab, err = run(binary, ["-ano", "--plain"])
    ck.eq((rc, err), (0, ""), "-ano --plain: exit 0, stderr empty")
    ck.eq(tab.decode("utf-8", "surrogateescape"),
          common.render_table(w.socks, w.comms, owner=True),
          "-ano --plain: the model's table (%d rows)" % len(w.socks))

    # Filters select the same rows with --json as in the table, and the
    # rows the model says they select.
    lo, hi = model.ephemeral
    default = common.select(w.socks)
    for args, rows in (
            (["--state", "established"],
             common.select(w.socks, states={common.ESTABLISHED})),
            (["-l"], common.select(w.socks, listening=True)),
            # a filter that names a port asks about every state
            (["--port", "8080"],
             [s for s in common.select(w.socks, all=True)
              if 8080 in (s.lport, s.rport)]),
            (["-4"], common.select(w.socks, v4=True)),
            (["-6"], common.select(w.socks, v6=True)),
            (["-au"], common.select(w.socks, all=True, udp=True)),
            (["--class", "ephemeral"],
             [s for s in default if lo <= s.lport <= hi]),
            (["--sport", "40000-45000"],
             [s for s in common.select(w.socks, all=True)
              if 40000 <= s.lport <= 45000]),
            (["--port", "443", "--state", "established"],
             [s for s in common.select(w.socks, states={common.ESTABLISHED})
              if 443 in (s.lport, s.rport)]),
            (["-l", "--port", "443"],
             [s for s in common.select(w.socks, listening=True)
              if s.lport == 443])):
        name = " ".join(args)
        ck.ok(len(rows) > 0, "model: %s selects %d rows" % (name, len(rows)))
        rc1, t, err1 = run(binary, ["-n", "--plain", "-H"] + args)
        rc2, j, err2 = run(binary, ["--json"] + args)
        ck.eq((rc1, err1, rc2, err2), (0, "", 0, ""),
              "%s: table and --json exit 0, stderr empty" % name)
        ck.eq(t.decode("utf-8", "surrogateescape"),
              common.render_table(rows, header=False),
              "-nH --plain %s: the model's rows" % name)
        try:
            got = [model.label(o) for o in json.loads(j)]
        except ValueError as e:
            got = "not JSON: %s" % e
        ck.eq(got, [model.label(model.json(s)) for s in
                    sorted(rows, key=common.Sock.sort_key)],
              "--json %s: the model's rows" % name)

    # --- hostile process name -------------------------------------------
    rc, out, err = run(binary, ["-anp"])
    ck.ok(rc == 0 and ("%d/%s" % (B, HOSTILE_TABLE)).encode() in out and
          b"\x1b" not in out and b"\xff" not in out,
          "table: the hostile name is escaped, no raw control byte",
          out.decode("utf-8", "replace"))

    # --- -H, -e, --sort ---------------------------------------------------
    rc, out, _ = run(binary, ["-anH"])
    ck.ok(rc == 0 and not out.startswith(b"\n") and
          b"Active Connections" not in out and b"Proto" not in out and
          len(out.splitlines()) == len(w.socks), "-H: rows only")
    rc, out, _ = run(binary, ["-ane", "--plain"])
    lines = out.decode().splitlines()
    ck.ok(rc == 0 and lines[3].split() == [
        "Proto", "Local", "Address", "Foreign", "Address", "State", "User",
        "Inode", "Recv-Q", "Send-Q", "Timer"], "-e: header", lines[3])
    # User and inode per row, from the holders' fstat(2); test_extended.py
    # checks every -e column on sockets with known queues and timers.
    want = [("root", str(model.inodes[id(s)])) for s in
            sorted(w.socks, key=common.Sock.sort_key)]
    got = []
    for line in lines[4:]:
        c = line.split()
        if c[0] == "UDP" and c[2] == "*:*":
            c.insert(3, "")
        got.append((c[4], c[5]) if len(c) > 5 else tuple(c))
    ck.ok(len(want) > 0, "model: -e rows (%d)" % len(want))
    ck.eq(got, want, "-e: user root and the holder's inode on every row "
          "(0 without a holder)")
    # --sort: test_sort.py checks every key and direction.

    # --- colour ----------------------------------------------------------
    rc, out, _ = run(binary, ["-an", "--color=always"])
    ck.ok(b"\x1b[32mESTABLISHED\x1b[0m" in out and
          b"\x1b[34mLISTENING\x1b[0m" in out and
          b"\x1b[33mTIME_WAIT\x1b[0m" in out, "--color=always colours states")
    plain_cols = run(binary, ["-an"])[1]
    stripped = out
    for code in (b"\x1b[32m", b"\x1b[34m", b"\x1b[33m", b"\x1b[36m",
                 b"\x1b[35m", b"\x1b[1m", b"\x1b[2m", b"\x1b[0m"):
        stripped = stripped.replace(code, b"")
    ck.eq(stripped.decode(), plain_cols.decode(),
          "colour changes nothing but the escape codes (same widths)")
    ck.ok(b"\x1b" not in plain_cols, "not a terminal: no colour by default")
    ck.ok(b"\x1b" not in run(binary, ["-an", "--color=never"])[1],
          "--color=never")
    rc, out, err = run(binary, ["--color=sometimes"])
    ck.eq((rc, out, err), (2, b"", "portview: --color=sometimes: expected "
                           "auto, always or never\n"), "--color=sometimes")
    rc, out, err = run(binary, ["--sort", "size"])
    ck.ok(rc == 2 and out == b"" and err.startswith(
        "portview: --sort size: unknown sort key (valid: "), "--sort size")
    # On a terminal: colour unless NO_COLOR (script(1) gives a pty).
    if subprocess.run(["which", "script"], stdout=subprocess.PIPE).returncode \
            == 0:
        def on_tty(env):
            e = dict(os.environ, PORTVIEW_SERVICES="/dev/null")
            e.pop("NO_COLOR", None)
            e.update(env)
            r = subprocess.run(["script", "-qec", binary + " -an", "/dev/null"],
                               stdout=subprocess.PIPE, env=e, timeout=30)
            return r.stdout
        ck.ok(b"\x1b[32mESTABLISHED" in on_tty({}),
              "on a terminal: coloured by default")
        ck.ok(b"\x1b[" not in on_tty({"NO_COLOR": "1"}),
              "on a terminal with NO_COLOR: no colour")

    # --- names ------------------------------------------------------------
    tmp = tempfile.mkdtemp(prefix="portview-output-")
    atexit.register(shutil.rmtree, tmp, True)
    hosts = os.path.join(tmp, "hosts")
    resolv = os.path.join(tmp, "resolv.conf")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.2 twohost\n::1 ip6-localhost\n")
    # A name server that never answers: the lookup of 127.0.0.3 must give
    # up and leave it numeric, within about a second.  It counts the
    # queries it receives.
    dns = SilentDNS("127.0.0.53")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.53\n")
    wrap = ["unshare", "-m", "sh", "-c",
            'mount --bind "$1" /etc/hosts && mount --bind "$2" '
            '/etc/resolv.conf && shift 2 && exec "$@"', "sh", hosts, resolv]
    # -n first: not one query (nor /etc/hosts: the model's numeric table).
    ck.eq(dns.queries(), [], "name server: no query before the runs")
    rc, out, err = run(binary, ["-an", "--plain"], prefix=wrap)
    ck.eq((rc, err), (0, ""), "-an: exit 0, stderr empty")
    dns_sock = common.Sock("UDP", common.Addr("127.0.0.53"), 53,
                           common.any_addr(4), 0, common.CLOSE)
    ck.eq(out.decode("utf-8", "surrogateescape"),
          common.render_table(w.socks + [dns_sock]),
          "-an: the model's numeric table (and the name server's socket)")
    ck.eq(dns.queries(), [], "-n: the name server received no query")

    # Port names in the addresses come from /etc/services alone (here a
    # file of three entries), as netstat's: 5353/udp is named, 3000/tcp,
    # which only the IANA registry names (hbci), keeps its number there
    # and is named in the annotation column.
    services = os.path.join(tmp, "services")
    with open(services, "w") as f:
        f.write("https 443/tcp\nhttp-alt 8080/tcp\nmdns 5353/udp\n")
    t0 = time.monotonic()
    rc, out, err = run(binary, ["-a", "--plain"], prefix=wrap,
                       env={"PORTVIEW_SERVICES": services})
    elapsed = time.monotonic() - t0
    text = out.decode()
    ck.ok(rc == 0 and "localhost:https" in text and
          "twohost:42000" in text and "127.0.0.3:45000" in text and
          "ip6-localhost:http-alt" in text and "0.0.0.0:mdns" in text,
          "names: /etc/hosts names and service names; unresolved stays "
          "numeric", text + err)

    ck.ok(elapsed < 2.0, "names: a silent name server costs about a second "
          "at most (%.2f s)" % elapsed)
    ck.ok("localhost:40000" in text, "names: an ephemeral port keeps its "
          "number (40000 is in 32768-60999)", text)
    # The addresses that /etc/hosts does not name go to DNS, each once:
    # 127.0.0.3 and the name server's own 127.0.0.53 (wildcards never).
    got = dns.queries()
    ck.ok(len(got) > 0, "without -n: the name server received queries (%d)"
          % len(got))
    ck.eq(sorted(got), ["3.0.0.127.in-addr.arpa", "53.0.0.127.in-addr.arpa"],
          "without -n: one PTR query for each address /etc/hosts does not "
          "name")
    rc, out, err = run(binary, ["-l", "--port", "3000"], prefix=wrap,
                       env={"PORTVIEW_SERVICES": services})
    rows = [l for l in out.decode().splitlines() if "3000" in l]
    ck.eq((rc, err, [" ".join(r.split()) for r in rows]),
          (0, "", ["TCP localhost:3000 0.0.0.0:0 LISTENING hbci registered -"]),
          "names: 3000, unknown to /etc/services, stays a number in the "
          "address; the annotation names it from IANA")
    rc, out, err = run(binary, ["-a", "--plain"], prefix=wrap,
                       env={"PORTVIEW_SERVICES": "/dev/null"})
    ck.ok(rc == 0 and "localhost:443 " in out.decode() and
          "0.0.0.0:5353" in out.decode(),
          "names: without /etc/services every port stays a number", out)
    dns.close()
    ck.finish()


class SilentDNS:
    """A UDP name server that never answers and records the question
    names it receives."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 53))
        self.sock.setblocking(False)

    def queries(self):
        """The question names received since the last call.  portview has
        exited by then, and loopback delivers a datagram as it is sent."""
        names = []
        while True:
            try:
                msg = self.sock.recv(4096)
            except BlockingIOError:
                return names
            names.append(self._qname(msg))

    @staticmethod
    def _qname(msg):
        labels, i = [], 12
        while i < len(msg) and msg[i]:
            n = msg[i]
            labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        return ".".join(labels).lower()

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    main()

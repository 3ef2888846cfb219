#!/usr/bin/env python3
"""JSON, names, -e, -H, --sort, colour and hostile process names.

Runs in a private network namespace with sockets the test opened; the JSON
is read with python's json module and checked against those sockets and
against the table, row for row.
"""

import json
import os
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


def table_rows(text):
    """Data rows of a table as lists of cells split on runs of spaces."""
    lines = text.decode().splitlines()[4:]
    return [line.split() for line in lines]


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
    keys = {"proto", "family", "state", "local", "foreign", "interface",
            "owners", "uid", "user", "inode", "cookie", "rx_queue",
            "tx_queue"}
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

    # Table and JSON agree row for row (same order, same values).
    rc, tab, _ = run(binary, ["-ano", "--plain"])
    rows = table_rows(tab)
    ck.eq(len(rows), len(doc), "table and JSON have as many rows")

    def addr(e):
        if e["address"] is None:
            return None
        a = e["address"]
        return ("[%s]:%d" if ":" in a else "%s:%d") % (a, e["port"])
    same = True
    for r, o in zip(rows, doc):
        want_pid = ",".join(sorted({str(x["pid"]) for x in o["owners"]},
                                   key=int)) or "-"
        got = (r[0], r[1], r[2])
        exp = (o["proto"].upper(), addr(o["local"]),
               addr(o["foreign"]) or ("*:*" if o["proto"] == "udp" else
                                      ("[::]:0" if o["family"] == "ipv6"
                                       else "0.0.0.0:0")))
        if got != exp or r[-1] != want_pid:
            same = False
            print("  table %r  json %r pid %s" % (r, exp, want_pid))
    ck.ok(same, "table rows equal JSON objects, in order")

    # Filters select the same rows with --json.
    for args in (["--state", "established"], ["-l"], ["--port", "8080"],
                 ["-4"], ["-6"], ["-u"], ["--class", "ephemeral"],
                 ["--sport", "40000-45000"]):
        rc1, t, _ = run(binary, ["-n", "--plain", "-H"] + args)
        rc2, j, _ = run(binary, ["--json"] + args)
        trows = [(r[0], r[1], r[2]) for r in table_rows(b"\n\n\n\n" + t)]
        jrows = [(o["proto"].upper(), addr(o["local"])) for o in json.loads(j)]
        ck.ok(rc1 == rc2 == 0 and [r[:2] for r in trows] == jrows,
              "--json %s selects the table's rows (%d)" % (" ".join(args),
                                                         len(jrows)))

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
    inode = {(o["proto"], addr(o["local"]), addr(o["foreign"])): o["inode"]
             for o in doc}
    good = True
    for line in lines[4:]:
        c = line.split()
        if c[0] == "UDP":
            c.insert(3, "")
        k = (c[0].lower(), c[1], None if c[2] in ("*:*", "0.0.0.0:0",
                                                   "[::]:0") else c[2])
        if c[4] != "root" or str(inode.get(k) or 0) != c[5]:
            good = False
            print("  -e row %r, json inode %r" % (c, inode.get(k)))
    ck.ok(good, "-e: user root and the kernel's inode on every row")
    rc, out, _ = run(binary, ["-anH", "--plain", "--sort", "port"])
    ports = [int(r[1].rsplit(":", 1)[1]) for r in table_rows(b"\n" * 4 + out)]
    ck.ok(ports == sorted(ports), "--sort port", repr(ports))
    rc, out, _ = run(binary, ["-anH", "--plain", "--sort", "-port"])
    ports = [int(r[1].rsplit(":", 1)[1]) for r in table_rows(b"\n" * 4 + out)]
    ck.ok(ports == sorted(ports, reverse=True), "--sort -port", repr(ports))
    rc, out, _ = run(binary, ["-anoH", "--plain", "--sort", "pid"])
    pids = [r[-1] for r in table_rows(b"\n" * 4 + out)]
    known = [int(p) for p in pids if p != "-"]
    ck.ok(known == sorted(known) and pids[len(known):] == ["-"] *
          (len(pids) - len(known)), "--sort pid: by PID, unknown last",
          repr(pids))
    rc, out, _ = run(binary, ["-anH", "--plain", "--sort", "state"])
    states = [r[3] if r[0] == "TCP" else "" for r in
              table_rows(b"\n" * 4 + out)]
    ck.ok(states == sorted(states), "--sort state", repr(states))

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
    tmp = tempfile.mkdtemp()
    hosts = os.path.join(tmp, "hosts")
    resolv = os.path.join(tmp, "resolv.conf")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.2 twohost\n::1 ip6-localhost\n")
    # A name server that never answers: the lookup of 127.0.0.3 must give
    # up and leave it numeric, within about a second.
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.53", 53))
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.53\n")
    wrap = ["unshare", "-m", "sh", "-c",
            'mount --bind "$1" /etc/hosts && mount --bind "$2" '
            '/etc/resolv.conf && shift 2 && exec "$@"', "sh", hosts, resolv]
    t0 = time.monotonic()
    rc, out, err = run(binary, ["-a", "--plain"], prefix=wrap)
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
    t0 = time.monotonic()
    rc, out, err = run(binary, ["-an", "--plain"], prefix=wrap)
    ck.ok(rc == 0 and "localhost" not in out.decode() and
          time.monotonic() - t0 < 0.5, "-n: numeric, no lookups")
    got = dns.recv(512) if _readable(dns) else b""
    ck.ok(len(got) > 0, "names: the PTR query went to the configured server")
    dns.close()
    ck.finish()


def _readable(s):
    import select
    return bool(select.select([s], [], [], 0)[0])


if __name__ == "__main__":
    main()

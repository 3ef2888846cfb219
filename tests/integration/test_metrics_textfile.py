#!/usr/bin/env python3
"""--metrics --all-netns through node_exporter's textfile collector.

The real prometheus-node-exporter (Debian's) runs with only its textfile
collector, on a loopback port of its own, reading a scratch directory;
the command of systemd/portview-metrics.service (its ExecStart, read from
the unit file) writes the scrape there, as the timer would.  The test
runs in private network, PID and mount namespaces with a /run/netns of
its own, so the namespaces portview sees are exactly two: its own
("host": PID 1's) with a listener on 127.0.0.1:7070, one connection to
it and node_exporter's listener, and "pvm-a" (ip netns add) with a
listener on 127.0.0.1:7071, two connections to it, held by a process
named pvm-holder.  /metrics must carry portview's families with those
values under each namespace's label, node_textfile_scrape_error 0, and
the file's mtime; a failed portview run must leave the last file whole
(the temporary file is renamed only on success).  portview's own output
is read by both prometheus_client parsers (Prometheus text, OpenMetrics).
"""
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
UNIT = os.path.join(TOP, "systemd", "portview-metrics.service")
EXPORTER = "/usr/bin/prometheus-node-exporter"

HOLDER = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
port, n = int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen()
keep = []
for _ in range(n):
    keep.append(socket.create_connection(("127.0.0.1", port))); keep.append(ls.accept()[0])
print("ready", flush=True)
sys.stdin.read()
"""

PARSE = r'''
import json, sys
from prometheus_client.parser import text_string_to_metric_families as prom
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
text = sys.stdin.read()
parse = om if sys.argv[1] == "openmetrics" else prom
json.dump([[s.name, s.labels, s.value] for f in parse(text) for s in f.samples], sys.stdout)
'''


def samples(text, fmt):
    """[(name, labels, value)] as prometheus_client reads text; None, why."""
    r = subprocess.run(["/usr/bin/python3", "-c", PARSE, fmt], input=text, text=True,
                       capture_output=True, timeout=common.scaled(60))
    if r.returncode != 0:
        return None, r.stderr[-1500:]
    return [(n, labels, v) for n, labels, v in json.loads(r.stdout)], ""


def value(rows, name, **labels):
    got = [v for n, l, v in rows if n == name and all(l.get(k) == w for k, w in labels.items())]
    return got[0] if len(got) == 1 else got or None


def exec_start():
    """The unit's ExecStart, as argv (it has no systemd specifier or $$)."""
    with open(UNIT) as f:
        line = next(l for l in f if l.startswith("ExecStart="))
    return shlex.split(line[len("ExecStart="):].strip())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_exporter(tmp, port):
    log = open(os.path.join(tmp, "exporter.log"), "w")
    p = subprocess.Popen([EXPORTER, "--web.listen-address=127.0.0.1:%d" % port,
                          "--collector.disable-defaults", "--collector.textfile",
                          "--collector.textfile.directory=" + tmp],
                         stdout=log, stderr=subprocess.STDOUT)
    with common.waiting_for("node_exporter to listen on 127.0.0.1:%d" % port):
        common.wait_until(lambda: any(s["lport"] == port and s["state"] == "LISTEN"
                                      for s in listeners()) or p.poll() is not None,
                          "node_exporter listening", timeout=30)
    return p


def listeners():
    """TCP listeners of this namespace, from /proc/net/tcp (no connection made)."""
    out = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            out.append({"lport": int(fields[1].split(":")[1], 16),
                        "state": "LISTEN" if fields[3] == "0A" else fields[3]})
    return out


def scrape(port):
    with common.waiting_for("node_exporter's /metrics"):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                    timeout=common.scaled(30)) as r:
            return r.read().decode()


def main():
    common.enter_netns(pidns=True)
    binary = common.require_portview()
    ck = common.Checker()
    if not os.access(EXPORTER, os.X_OK):
        print("FAIL: prometheus-node-exporter is not installed (scripts/setup.sh)")
        sys.exit(1)
    if os.getpid() != 1:
        print("SKIP: needs a PID namespace of its own for an exact --all-netns")
        sys.exit(common.SKIP)
    os.makedirs("/run/netns", exist_ok=True)
    common.sh(["mount", "-t", "tmpfs", "pv-netns", "/run/netns"])
    common.sh(["ip", "netns", "add", "pvm-a"])
    common.sh(["ip", "netns", "exec", "pvm-a", "ip", "link", "set", "lo", "up"])
    holders = [subprocess.Popen(pre + [sys.executable, "-c", HOLDER, comm, port, n],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for pre, comm, port, n in (([], "pvm-host", "7070", "1"),
                                          (["ip", "netns", "exec", "pvm-a"], "pvm-holder",
                                           "7071", "2"))]
    exporter = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for h in holders:
                ck.eq(h.stdout.readline(), "ready\n", "a holder has its sockets")
            bindir = os.path.join(tmp, "bin")
            os.makedirs(bindir)
            os.symlink(binary, os.path.join(bindir, "portview"))
            env = dict(os.environ, PATH=bindir + ":/usr/sbin:/usr/bin:/sbin:/bin",
                       TEXTFILE_DIR=tmp)
            port = free_port()
            exporter = start_exporter(tmp, port)
            argv = exec_start()
            r = subprocess.run(argv, env=env, capture_output=True, text=True,
                               timeout=common.scaled(60))
            ck.eq((r.returncode, r.stderr), (0, ""), "the service's command: exit 0, quiet")
            ck.eq(sorted(os.listdir(tmp)), ["bin", "exporter.log", "portview.prom"],
                  "portview.prom written, no temporary file left")
            text = open(os.path.join(tmp, "portview.prom")).read()
            for fmt in ("prometheus", "openmetrics"):
                rows, why = samples(text, fmt)
                ck.ok(rows is not None, "--metrics --all-netns: the %s parser reads it" % fmt,
                      why)
            check_scrape(ck, scrape(port))
            # a failed run leaves the last complete file as it was
            fail = os.path.join(bindir, "portview")
            os.unlink(fail)
            with open(fail, "w") as f:
                f.write("#!/bin/sh\necho 'portview_sockets{netns=\"half'\nexit 1\n")
            os.chmod(fail, 0o755)
            r = subprocess.run(argv, env=env, capture_output=True, text=True,
                               timeout=common.scaled(60))
            ck.ok(r.returncode != 0, "a failed portview: the command fails")
            ck.eq(open(os.path.join(tmp, "portview.prom")).read(), text,
                  "a failed portview: portview.prom is still the last whole scrape")
            rows, _ = samples(scrape(port), "prometheus")
            ck.eq(value(rows or [], "node_textfile_scrape_error"), 0.0,
                  "a failed portview: node_exporter still reads the file without error")
        finally:
            if exporter:
                exporter.terminate()
                exporter.wait()
            for h in holders:
                h.stdin.close()
                h.wait()
    ck.finish()


def check_scrape(ck, text):
    rows, why = samples(text, "prometheus")
    if not ck.ok(rows is not None, "node_exporter's /metrics parses", why):
        return
    ck.eq(value(rows, "node_textfile_scrape_error"), 0.0, "node_textfile_scrape_error 0")
    ck.ok(any(n == "node_textfile_mtime_seconds" and l.get("file", "").endswith("portview.prom")
              for n, l, v in rows), "node_textfile_mtime_seconds for portview.prom")
    tcp4 = dict(proto="tcp", family="ipv4")
    want = {
        # own namespace: 7070's listener and node_exporter's; one connection
        ("host", "LISTENING"): 2.0, ("host", "ESTABLISHED"): 2.0,
        ("pvm-a", "LISTENING"): 1.0, ("pvm-a", "ESTABLISHED"): 4.0,
    }
    got = {k: value(rows, "portview_sockets", netns=k[0], state=k[1], **tcp4) for k in want}
    ck.eq(got, want, "portview_sockets per namespace, through node_exporter")
    ck.eq(sorted({l.get("netns") for n, l, v in rows if n.startswith("portview_")} - {None}),
          ["host", "pvm-a"], "every portview series of a namespace has its netns label")
    ck.eq(value(rows, "portview_listening_port_connections", netns="pvm-a", port="7071"), 2.0,
          "pvm-a: 7071 has two connections")
    ck.eq(value(rows, "portview_program_sockets", netns="pvm-a", program="pvm-holder"), 5.0,
          "pvm-a: pvm-holder holds five sockets")
    ck.eq(value(rows, "portview_program_sockets", netns="host", program="pvm-holder"), None,
          "host: pvm-holder holds none")
    ck.ok(isinstance(value(rows, "portview_scrape_duration_seconds"), float),
          "one portview_scrape_duration_seconds, without a netns label")


if __name__ == "__main__":
    main()

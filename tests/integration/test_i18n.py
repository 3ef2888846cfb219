#!/usr/bin/env python3
"""portview in Japanese (LANG=ja_JP.UTF-8), and the same sockets in C.

The lesson's own example: a server on 127.0.0.1:5354 (a program named in
kana, サーバー: a copy of the Python interpreter under that name, its
comm set to it as well) and a client connected from the dynamic port
49681.  Under LANG=ja_JP.UTF-8, in a pipe and on an 80-column terminal,
the exact screens of -no (アクティブな接続 and Japanese Windows netstat's
headers), -p (the kana name lined up by display width, in both
locales), --ranges (開始ポート, ポート数), --lookup 80 and a usage error;
what programs read (JSON, metrics, --list-options) byte for byte the same
in both locales; --help no wider than 80 columns in Japanese.

Expected tables are rendered here from the rules (a column as wide as its
widest cell and a space, the netstat columns at least Windows' widths or
their title and two spaces), counting display columns: a kana takes two.

Exit status: 0 pass, 1 fail, 77 skip.
"""

import os
import shutil
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

JA = "ja_JP.UTF-8"
SERVER = "サーバー"


def width(s):
    """Display columns, as a UTF-8 terminal shows them."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in s)


def pad(s, w):
    return s + " " * max(w - width(s), 0)


# (title in C, title in ja, Windows netstat's width: the netstat columns)
COLS = {
    "proto": ("Proto", "プロトコル", 7),
    "local": ("Local Address", "ローカル アドレス", 23),
    "foreign": ("Foreign Address", "外部アドレス", 23),
    "state": ("State", "状態", 16),
    "pid": ("PID", "PID", 8),
    "program": ("PID/Program name", "PID/プログラム名", 0),
    "lport": ("Local Port", "ローカル ポート", 0),
    "fport": ("Foreign Port", "外部ポート", 0),
}


def table(cols, rows, ja, fit=None):
    """The listing portview prints: title, headers, rows; fit=COLUMNS
    leaves out the annotations, then a space after a wide title, then the
    padding, then the indent, as fit() does."""
    titles = [COLS[c][1 if ja else 0] for c in cols]
    cols, rows = list(cols), [list(r) for r in rows]

    def widths(compact, gap=2):
        ws = []
        for k, c in enumerate(cols):
            w = max(width(x) for x in [titles[k]] + [r[k] for r in rows]) + 1
            least = COLS[c][2]
            if least and not compact:
                w = max(w, least, width(titles[k]) + gap)
            ws.append(w)
        return ws

    def total(ws, indent=2):
        last = max(width(x) for x in [titles[-1]] + [r[-1] for r in rows])
        return indent + sum(ws[:-1]) + last

    ws, indent = widths(False), 2
    if fit:
        for drop in ("fport", "lport"):
            if drop in cols and total(widths(False)) > fit:
                k = cols.index(drop)
                del cols[k], titles[k]
                for r in rows:
                    del r[k]
        ws = widths(False)
        if total(ws) > fit:
            ws = widths(False, gap=1)
        if total(ws) > fit:
            ws = widths(True)
        if total(ws) > fit:
            indent = 0
    out = "\n%s\n\n" % ("アクティブな接続" if ja else "Active Connections")
    for line in [titles] + rows:
        text = " " * indent + "".join(pad(x, ws[k]) for k, x in enumerate(line[:-1]))
        out += (text + line[-1]).rstrip(" ") + "\n"
    return out


def run(binary, args, lang, pty_cols=None):
    env = dict(os.environ, LANG=lang, TERM="dumb", NO_COLOR="1")
    for k in ("LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE", "COLUMNS"):
        env.pop(k, None)
    if pty_cols:
        rc, raw = common.run_on_pty([binary] + args, pty_cols, env=env)
        return rc, raw.decode("utf-8", "surrogateescape"), None
    with common.waiting_for("portview %s (LANG=%s)" % (" ".join(args), lang)):
        r = subprocess.run([binary] + args, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=common.scaled(20))
    return (r.returncode, r.stdout.decode("utf-8", "surrogateescape"),
            r.stderr.decode("utf-8", "surrogateescape"))


def raw_run(binary, args, lang):
    env = dict(os.environ, LANG=lang)
    env.pop("LC_ALL", None)
    r = subprocess.run([binary] + args, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=common.scaled(20))
    return r.returncode, r.stdout, r.stderr


def have_locale():
    out = subprocess.run(["locale", "-a"], stdout=subprocess.PIPE,
                         text=True).stdout.lower().split()
    return "ja_jp.utf8" in out


def main():
    if not have_locale():
        print("SKIP: no ja_JP.UTF-8 locale (scripts/setup.sh makes it with "
              "localedef, as root)")
        sys.exit(common.SKIP)
    common.enter_netns()
    binary = common.require_portview()
    tmp = os.environ.get("TMPDIR", "/tmp")
    exe = os.path.join(tmp, "pv-i18n-%d" % os.getpid(), SERVER)
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    shutil.copy(os.path.realpath(sys.executable), exe)
    w = common.World()
    try:
        # five-digit PIDs: Japanese -no is then 81 columns wide, and the
        # fitting takes the space after プロトコル before anything else
        srv = w.holder(SERVER, pid=12345, python=exe)
        cli = w.holder("pv-client", pid=23456)
        listener = w.tcp_listen(srv, "127.0.0.1", 5354)
        w.tcp_connect(cli, "127.0.0.1", 49681, listener, "127.0.0.1")
        w.check_kernel()
        cases(binary, srv.pid, cli.pid)
    finally:
        w.stop()
        shutil.rmtree(os.path.dirname(exe), ignore_errors=True)


def listing_cases(c, binary, spid, cpid):
    net = [["TCP", "127.0.0.1:5354", "127.0.0.1:49681", "ESTABLISHED"],
           ["TCP", "127.0.0.1:49681", "127.0.0.1:5354", "ESTABLISHED"]]
    ann = {True: [["mdnsresponder 登録済み", "- 動的"],
                  ["- 動的 エフェメラル", "mdnsresponder 登録済み"]],
           False: [["mdnsresponder registered", "- dynamic"],
                   ["- dynamic ephemeral", "mdnsresponder registered"]]}
    pids = [str(spid), str(cpid)]
    for ja, lang in ((True, JA), (False, "C")):
        rows = [net[i] + [pids[i]] + ann[ja][i] for i in range(2)]
        want = table(["proto", "local", "foreign", "state", "pid", "lport",
                      "fport"], rows, ja)
        c.eq(run(binary, ["-no"], lang), (0, want, ""),
             "LANG=%s -no in a pipe: the exact table" % lang)
        got = run(binary, ["-no"], lang, pty_cols=80)
        c.eq(got[:2], (0, table(["proto", "local", "foreign", "state", "pid",
                                 "lport", "fport"], rows, ja, fit=80)),
             "LANG=%s -no on 80 columns: the exact screen" % lang)
        progs = ["%d/%s" % (spid, SERVER), "%d/pv-client" % cpid]
        rows = [net[i] + [progs[i]] for i in range(2)]
        want = table(["proto", "local", "foreign", "state", "program"], rows, ja)
        c.eq(run(binary, ["-np", "--plain"], lang), (0, want, ""),
             "LANG=%s -p: %s lines up by display width" % (lang, SERVER))
        rows = [net[i] + [pids[i], progs[i]] + ann[ja][i] for i in range(2)]
        cols = ["proto", "local", "foreign", "state", "pid", "program",
                "lport", "fport"]
        got = run(binary, ["-nop"], lang, pty_cols=80)
        c.eq(got[:2], (0, table(cols, rows, ja, fit=80)),
             "LANG=%s -nop on 80 columns: fitted by display width" % lang)
        c.ok(all(width(l) <= 80 for l in got[1].splitlines()),
             "LANG=%s -nop on 80 columns: no line wider than 80" % lang, got[1])


def ranges_case(c, binary):
    rc, en, _ = run(binary, ["--ranges"], "C")
    rows = [l.split() for l in en.splitlines()[4:]]
    c.ok(rc == 0 and len(rows) == 4 and all(len(r) == 7 for r in rows),
         "LANG=C --ranges: four rows of seven columns", en)
    cols = [2, 14, 29, 41, 51, 61, 69]  # after each title and two spaces
    heads = ["プロトコル", "範囲", "開始ポート", "ポート数", "予約済み",
             "使用中", "使用率"]
    rng = {"ephemeral": "エフェメラル", "iana-dynamic": "IANA 動的"}

    def line(cells):
        out = ""
        for k, x in enumerate(cells):
            out = pad(out, cols[k]) if width(out) < cols[k] else out + " "
            out += x
        return out + "\n"
    want = "\nローカル ポートの範囲\n\n" + line(heads) + "".join(
        line([r[0], rng[r[1]]] + r[2:]) for r in rows)
    c.eq(run(binary, ["--ranges"], JA), (0, want, ""),
         "LANG=ja --ranges: netsh's 開始ポート and ポート数, the same numbers")


def lookup_case(c, binary):
    rc, en, _ = run(binary, ["--lookup", "80"], "C")
    lines = en.splitlines(True)
    lo, hi = lines[2].split("range is ")[1].rstrip(")\n").split("-")
    want = ("ポート 80\n"
            "  分類:         ウェルノウン (0-1023、IANA が割り当てる。サーバー側が"
            "待ち受ける番号で、クライアントは番号を知っているので接続できる)\n"
            "  エフェメラル: いいえ (このホストの範囲は %s-%s。カーネルがクライアント"
            "側に選ぶのはこの範囲のポート)\n"
            "  サービス:\n" % (lo, hi))
    # the services as they are, then the sockets on the port: none here
    blank = lines.index("\n", 4)
    want += "".join(lines[4:blank]) + table(
        ["proto", "local", "foreign", "state", "program", "lport", "fport"],
        [], True)
    c.ok(rc == 0 and lines[0] == "Port 80\n" and lines[3] == "  Services:\n",
         "LANG=C --lookup 80: as before", en)
    c.eq(run(binary, ["--lookup", "80"], JA), (0, want, ""),
         "LANG=ja --lookup 80: the class said for learners, which side uses it")


def usage_cases(c, binary):
    c.eq(run(binary, ["--state", "ESTABLISHD"], JA),
         (2, "", "portview: --state ESTABLISHD: 不明な状態; もしかして established?\n"),
         "LANG=ja usage error: one translated line, exit 2")
    c.eq(run(binary, ["--state", "ESTABLISHD"], "C"),
         (2, "", "portview: --state ESTABLISHD: unknown state; did you mean established?\n"),
         "LANG=C usage error: as before")
    rc, out, _ = run(binary, ["--state", "ESTABLISHD"], JA, pty_cols=80)
    c.eq((rc, out),
         (2, "portview: --state ESTABLISHD: 不明な状態; もしかして established?\n"),
         "LANG=ja usage error on a terminal")
    env = dict(os.environ, LANG=JA, PORTVIEW_LOCALEDIR="/nonexistent")
    env.pop("LC_ALL", None)
    r = subprocess.run([binary, "--state", "x"], env=env, stderr=subprocess.PIPE,
                       stdout=subprocess.DEVNULL, timeout=common.scaled(20))
    c.ok(r.returncode == 2 and b"unknown state" in r.stderr,
         "PORTVIEW_LOCALEDIR names the catalogs: none there, English", r.stderr)
    rc, out, err = run(binary, ["--help"], JA)
    wide = [l for l in out.splitlines() if width(l) > 80]
    c.ok(rc == 0 and "使い方: portview" in out and not wide,
         "LANG=ja --help: translated, no line wider than 80 columns", "\n".join(wide))


def drop_duration(text):
    return b"\n".join(l for l in text.split(b"\n")
                      if not l.startswith(b"portview_scrape_duration_seconds "))


def program_reads_cases(c, binary):
    for args in (["-a", "--json"], ["-s", "--json"], ["--metrics"],
                 ["--ranges", "--json"], ["--list-options"],
                 ["--complete", "state"]):
        en, ja = raw_run(binary, args, "C"), raw_run(binary, args, JA)
        if args == ["--metrics"]:  # the one line that differs: a duration
            en, ja = ([en[0], drop_duration(en[1]), en[2]],
                      [ja[0], drop_duration(ja[1]), ja[2]])
        c.eq(ja, en, "%s: byte for byte the same in both locales" % " ".join(args))
        c.ok(en[0] == 0 and en[1], "%s: exits 0 with output" % " ".join(args), en)
    got = raw_run(binary, ["-a", "--json"], JA)[1]
    c.ok(SERVER.encode() in got and b"\"LISTENING\"" in got,
         "JSON under ja: the kana name as UTF-8, the state names English")


def cases(binary, spid, cpid):
    c = common.Checker()
    listing_cases(c, binary, spid, cpid)
    ranges_case(c, binary)
    lookup_case(c, binary)
    usage_cases(c, binary)
    program_reads_cases(c, binary)
    c.finish()


if __name__ == "__main__":
    main()

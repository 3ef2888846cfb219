#!/usr/bin/env python3
"""The shell completions: loaded in bash, zsh and fish, asked for candidates.

The scripts are the ones the build made from the option table
(build/completions, beside the binary; tools/gen-completions.py).  In a
private network, PID and mount namespace with two named network
namespaces, an interface and a process of a known name, each shell
must offer: the options of --list-options (all that --help shows, no
other), state names and a comma list's next item, service names from the
registry for --port, the namespace names for -N, the program for
--command, the interface for --dev, sort keys, classes and colour words.
bash is asked through its completion function as bash-completion calls
it (and loads it by the installed name, lazily); zsh on a pseudo-terminal
with compinit, its compadd wrapped to record what it is given; fish with
complete -C.
"""
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NS = ["pvc-alpha", "pvc-beta"]
DEV = "pvcdev0"
COMM = "pvcompl-srv"

# (words typed, what bash's COMPREPLY must hold: exactly, or a subset with "+")
CASES = [
    (["--st"], ["--state"]),
    (["--state", "est"], ["established"]),
    (["--state=est"], ["--state=established"]),
    (["--state", "established,li"], ["established,listening"]),
    (["--state", "gr"], []),
    (["--port", "http"], ["+", "http", "https", "http-alt"]),
    (["--dport", "postgres"], ["postgresql"]),
    (["-N", "pvc-"], NS),
    (["--netns", "pvc-b"], ["pvc-beta"]),
    (["--command", "pvcompl"], [COMM]),
    (["--dev", "pvcd"], [DEV]),
    (["--sort", "pro"], ["proto", "program"]),
    (["--sort", "-pr"], ["-proto", "-program"]),
    (["--sort", "state,-po"], ["state,-port"]),
    (["--class", "w"], ["well-known"]),
    (["--color="], ["--color=auto", "--color=always", "--color=never"]),
    (["--src", ""], []),
]


def matches(got, want):
    if want and want[0] == "+":
        return set(want[1:]) <= set(got)
    return sorted(got) == sorted(want)


def bash_split(words):
    """The words as bash splits them: at '=' too (COMP_WORDBREAKS)."""
    split = []
    for w in words:
        if w.startswith("--") and "=" in w:
            o, v = w.split("=", 1)
            split += [o, "="] + ([v] if v else [])
        else:
            split.append(w)
    return split


def after_eq(want):
    """What a shell that completes the value alone offers for --opt=VALUE."""
    return [w.split("=", 1)[1] if w.startswith("--") and "=" in w else w for w in want]


def bash_cases(c, compdir, env):
    # bash-completion's loader finds the file by the command's name
    # (the installed name), then the function answers as it is called.
    lines = ["source /usr/share/bash-completion/bash_completion",
             "complete -p portview >/dev/null 2>&1 && echo 'loaded early'",
             "__load_completion portview || echo 'not loaded'",
             "complete -p portview",
             "t() { COMP_WORDS=(portview \"$@\"); COMP_CWORD=$#;"
             " COMP_LINE=\"portview $*\"; COMP_POINT=${#COMP_LINE}; COMPREPLY=();"
             " _portview portview \"${COMP_WORDS[COMP_CWORD]}\""
             " \"${COMP_WORDS[COMP_CWORD-1]}\";"
             " printf '%s\\n' \"== $*\" \"${COMPREPLY[@]}\"; }"]
    for words, _ in CASES:
        lines.append("t " + " ".join("'%s'" % w for w in bash_split(words)))
    lines.append("t -")
    env = dict(env, BASH_COMPLETION_USER_DIR=compdir + "/bash")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(lines)],
                       capture_output=True, text=True, env=env, timeout=common.scaled(60))
    out = r.stdout.split("\n== ")
    c.eq((r.returncode, r.stderr, out[0].splitlines()),
         (0, "", ["complete -F _portview portview"]),
         "bash: bash-completion loads it by its installed name, on first use")
    got = {}
    for block in out[1:]:
        rows = block.rstrip("\n").split("\n")
        got[rows[0]] = [x for x in rows[1:] if x]
    for words, want in CASES:
        rows = got.get(" ".join(bash_split(words)))
        c.ok(rows is not None and matches(rows, after_eq(want)),
             "bash: portview %s<TAB> offers %s" % (" ".join(words), after_eq(want)),
             "got %r" % (rows,))
    return got.get("-")


def zsh_cases(c, compdir, env, tmp):
    """An interactive zsh on a pty: compinit, compadd recording its words."""
    log = os.path.join(tmp, "zsh.log")
    master, slave = pty.openpty()
    p = subprocess.Popen(["zsh", "-f", "-i"], stdin=slave, stdout=slave, stderr=slave,
                         env=dict(env, TERM="dumb", PS1="%% "), close_fds=True,
                         start_new_session=True)
    os.close(slave)
    screen = [b""]

    def drain(until=None, timeout=20):
        end = time.monotonic() + common.scaled(timeout)
        while time.monotonic() < end:
            if until and until():
                return True
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    screen[0] += os.read(master, 65536)
                except OSError:
                    return False
        return until() if until else True

    def logged(marker):
        try:
            return marker in open(log).read()
        except OSError:
            return False

    def typed(text, marker, what):
        os.write(master, text.encode())
        with common.waiting_for(what):
            ok = drain(lambda: logged(marker))
        return ok

    setup = ("fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D; "
             "unsetopt auto_list list_beep; "
             "compadd() { local -a __hits; builtin compadd -O __hits \"$@\"; "
             "(( ${#__hits} )) && print -rl -- ${__hits} >>%s; builtin compadd \"$@\"; }; "
             "print -r -- '== ready' >>%s\n" % (compdir + "/zsh", log, log))
    try:
        if not typed(setup, "== ready", "zsh to start and run compinit"):
            c.ok(False, "zsh: started with compinit", screen[0][-500:].decode("utf-8", "replace"))
            return
        # per case a marker, the words and TAB (once the marker is in:
        # zsh does not complete a TAB that has input after it), then ^U
        # once the completion has added to the log (or, where it should
        # offer nothing, after a while)
        for i, (words, want) in enumerate(CASES):
            typed("print -r -- '== %d' >>%s\n" % (i, log), "== %d" % i, "zsh's marker %d" % i)
            size = os.path.getsize(log)
            os.write(master, ("portview %s\t" % " ".join(words)).encode())
            drain(lambda: os.path.getsize(log) > size, timeout=3 if want else 1)
            os.write(master, b"\x15")
        typed("print -r -- '== end' >>%s\n" % log, "== end", "zsh to complete every case")
        os.write(master, b"exit\n")
        p.wait(timeout=common.scaled(20))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    blocks, cur = {}, None
    for row in open(log).read().split("\n"):
        if row.startswith("== "):
            cur = blocks.setdefault(row[3:], set())
        elif row and cur is not None:
            cur.add(row)
    for i, (words, want) in enumerate(CASES):
        rows = sorted(blocks.get(str(i), ()))
        # zsh adds a comma list's next item alone, and the value after '=' alone
        bare = [w.rsplit(",", 1)[-1] for w in after_eq(want)]
        if words == ["--st"]:
            rows = [r for r in rows if r.startswith("--st")]
        c.ok(matches(rows, bare),
             "zsh: portview %s<TAB> offers %s" % (" ".join(words), bare), "got %r" % rows[:20])


def fish_cases(c, compdir, env):
    cmds = ["source %s/fish/portview.fish" % compdir]
    for words, _ in CASES:
        cmds.append("echo '== %s'; complete -C 'portview %s'" % (" ".join(words), " ".join(words)))
    r = subprocess.run(["fish", "--no-config", "-c", "; ".join(cmds)], capture_output=True,
                       text=True, env=env, timeout=common.scaled(60))
    c.eq((r.returncode, r.stderr), (0, ""), "fish: loads the completion, completes")
    got = {}
    for block in r.stdout.split("== ")[1:]:
        rows = block.rstrip("\n").split("\n")
        got[rows[0]] = [x.split("\t")[0] for x in rows[1:]]
    for words, want in CASES:
        rows = got.get(" ".join(words))
        c.ok(rows is not None and matches(rows, want),
             "fish: portview %s<TAB> offers %s" % (" ".join(words), want), "got %r" % (rows,))


def main():
    common.enter_netns(pidns=True)
    binary = common.require_portview()
    for shell in ("bash", "zsh", "fish"):
        if not common.shutil.which(shell):
            print("FAIL: %s is not installed (scripts/setup.sh's test packages)" % shell)
            sys.exit(1)
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        print("FAIL: bash-completion is not installed (scripts/setup.sh's test packages)")
        sys.exit(1)
    built = os.path.join(os.path.dirname(binary), "completions")
    ck = common.Checker()
    # names of this mount namespace only
    os.makedirs("/run/netns", exist_ok=True)
    common.sh(["mount", "-t", "tmpfs", "pv-netns", "/run/netns"])
    for n in NS:
        common.sh(["ip", "netns", "add", n])
    common.sh(["ip", "link", "add", DEV, "type", "veth", "peer", "name", "pvx1"])
    holder = common.Holder(comm=COMM)
    with tempfile.TemporaryDirectory() as tmp:
        # each shell's file where it looks, and portview on the PATH
        for shell, name in (("bash", "completions/portview"), ("zsh", "_portview"),
                            ("fish", "portview.fish")):
            os.makedirs(os.path.dirname(os.path.join(tmp, shell, name)), exist_ok=True)
            os.symlink(os.path.join(built, os.path.basename(name)),
                       os.path.join(tmp, shell, name))
        os.makedirs(os.path.join(tmp, "bin"))
        os.symlink(binary, os.path.join(tmp, "bin", "portview"))
        env = dict(os.environ, PATH=tmp + "/bin:" + os.environ["PATH"], HOME=tmp,
                   XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp)
        try:
            # the words themselves, as the scripts ask for them
            rc, out, err = common.run_portview(["--complete", "class"], binary)
            ck.eq((rc, out, err), (0, "well-known\nregistered\ndynamic\nephemeral\n", ""),
                  "--complete class: the classes --class reads")
            rc, out, err = common.run_portview(["--complete=states"], binary)
            ck.eq((rc, out, err), (2, "", "portview: --complete=states: unknown kind of word "
                                   "(valid: options, state, class, sort, color, service, "
                                   "netns, command, pid, dev)\n"),
                  "--complete with an unknown kind: a usage error")
            options = bash_cases(ck, tmp, env)
            rc, out, _ = common.run_portview(["--list-options"], binary)
            shown = sorted(r.split("\t")[0] for r in out.splitlines() if r.endswith("\thelp"))
            ck.eq(sorted(o for o in (options or []) if o.startswith("--")), shown,
                  "bash: portview -<TAB> offers the options --help shows, from the table")
            zsh_cases(ck, tmp, env, tmp)
            fish_cases(ck, tmp, env)
        finally:
            holder.stop()
    ck.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Shell completions for bash, zsh and fish, made from portview's option table.

Usage: tools/gen-completions.py PORTVIEW OUTDIR

Reads the table from the built program itself (`portview --list-options`:
names, letters, arguments, whether --help shows them; `portview --complete
options`: the kind of word each value is, and the help's first line), so
no option is listed twice by hand: an option added to src/cli_options.c is
completed at the next build.  The scripts ask `portview --complete KIND`
for the words at TAB time (states, classes, sort keys, colour words,
service names, namespaces, programs, PIDs, interfaces).

Writes OUTDIR/portview (bash), OUTDIR/_portview (zsh), OUTDIR/portview.fish.
"""
import subprocess
import sys

HEAD = ("made by tools/gen-completions.py from portview's option table "
        "(portview --list-options); do not edit")
LISTS = ("state", "class", "sort", "pid")  # comma lists: each item completed
DASHED = ("sort",)  # values that may begin with '-' (a descending key)


def table(portview):
    """The options --help shows: [(long, letter or None, arg, kind, desc)]."""
    run = lambda *a: subprocess.run([portview, *a], check=True, capture_output=True,
                                    text=True).stdout
    extra = {}
    for line in run("--complete", "options").splitlines():
        name, kind, desc = line.split("\t")
        extra[name] = (None if kind == "-" else kind, desc)
    opts = []
    for line in run("--list-options").splitlines():
        long, letter, arg, _group, shown = line.split("\t")
        if shown != "help":
            continue
        kind, desc = extra.get(long, (None, ""))
        opts.append((long, None if letter == "-" else letter, arg, kind, desc))
    if not opts:
        sys.exit("gen-completions: portview --list-options listed no option")
    return opts


def arg_kind(arg):
    """'-' none, 'required', or 'optional' ([=NAME])."""
    return "none" if arg == "-" else "optional" if arg.startswith("[=") else "required"


def bash(opts):
    spell = lambda o: " | ".join(([o[1]] if o[1] else []) + [o[0]])
    valued = [o for o in opts if arg_kind(o[2]) == "required"]
    cases = "".join(f"\t\t{spell(o)}) kind={o[3] or '-'} ;;\n" for o in valued)
    cases += "".join(f"\t\t{o[0]}) kind={o[3] or '-'} ;;\n" for o in opts
                     if arg_kind(o[2]) == "optional")
    words = " ".join(o[0] for o in opts)
    return f"""# bash completion for portview(8)
# {HEAD}

# COMPREPLY: the words of `portview --complete KIND` that start with CUR,
# after PRE.  A comma list completes its last item.  The words are matched
# here, not by compgen -W, which would expand them (they include the
# names running programs gave themselves).
_portview_words() {{
	local cmd=$1 kind=$2 cur=$3 pre=$4 w
	case $kind in
	{' | '.join(LISTS)}) pre=$pre${{cur%"${{cur##*,}}"}} cur=${{cur##*,}} ;;
	esac
	COMPREPLY=()
	while IFS= read -r w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$pre$w")
	done < <("$cmd" --complete "$kind" 2>/dev/null)
}}

_portview() {{
	local cmd=$1 cur=${{COMP_WORDS[COMP_CWORD]}} prev= opt= pre= kind=
	((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}
	command -v "$cmd" >/dev/null 2>&1 || cmd=portview
	# --opt=VALUE: bash splits the word at '=' (COMP_WORDBREAKS), or not
	if [[ $cur == = && $prev == --* ]]; then
		opt=$prev cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		opt=${{COMP_WORDS[COMP_CWORD - 2]}}
	elif [[ $cur == --*=* ]]; then
		opt=${{cur%%=*}} pre=${{cur%%=*}}= cur=${{cur#*=}}
	else
		opt=$prev
		case $opt in
{"".join(f"		{spell(o)}) ;;" + chr(10) for o in valued)}		*) opt= ;;
		esac
	fi
	if [[ -n $opt ]]; then
		case $opt in
{cases}		*) return 0 ;;
		esac
		[[ $kind == - ]] && return 0
		_portview_words "$cmd" "$kind" "$cur" "$pre"
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '{words}' -- "$cur"))
	fi
}}
complete -F _portview portview
"""


def zsh_quote(text):
    """Text inside an _arguments spec's [...] and a single-quoted word."""
    for c in "\\[]:":
        text = text.replace(c, "\\" + c)
    return text.replace("'", "'\\''")


def zsh(opts):
    specs = []
    for long, letter, arg, kind, desc in opts:
        d = zsh_quote(desc)
        how = arg_kind(arg)
        name = arg.strip("[=]")
        action = "{_portview_words %s}" % kind if kind else " "
        if how == "required":
            specs.append(f"'{long}=[{d}]:{name}:{action}'")
            if letter:
                specs.append(f"'{letter}+[{d}]:{name}:{action}'")
        elif how == "optional":
            specs.append(f"'{long}=-[{d}]::{name}:{action}'")
            if letter:  # -p: a switch of its own
                specs.append(f"'{letter}[{d}]'")
        else:
            specs.append(f"'{long}[{d}]'")
            if letter:
                specs.append(f"'{letter}[{d}]'")
    lines = " \\\n\t".join(specs)
    return f"""#compdef portview
# zsh completion for portview(8)
# {HEAD}

# The words of `portview --complete KIND`; a comma list for {', '.join(LISTS)}.
_portview_words() {{
	local kind=$1 expl
	local -a w
	w=(${{(f)"$(_call_program $kind ${{(q)words[1]}} --complete $kind 2>/dev/null)"}})
	case $kind in
	{'|'.join(LISTS)}) _sequence -s , compadd - $w ;;
	*) _wanted $kind expl $kind compadd -a w ;;
	esac
}}

_arguments -s -S \\
	{lines}
"""


def fish_quote(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(opts):
    out = [f"""# fish completion for portview(8)
# {HEAD}

# The words of `portview --complete KIND`, from the portview being completed.
function __portview_words
    set -l cmd (commandline -opc)[1]
    command -q $cmd; or set cmd portview
    $cmd --complete $argv[1] 2>/dev/null
end

complete -c portview -f"""]
    for long, letter, arg, kind, desc in opts:
        how = arg_kind(arg)
        line = f"complete -c portview -l {long[2:]}"
        if letter and how != "optional":
            line += f" -s {letter[1:]}"
        if how == "required":
            line += " -x"
        if kind:
            words = f"__portview_words {kind}"
            if kind in LISTS:
                words = f'__fish_complete_list , "{words}"'
            line += f" -a {fish_quote('(' + words + ')')}"
        out.append(line + f" -d {fish_quote(desc)}")
        if kind in DASHED:
            # fish takes a word that begins with '-' for an option: offer
            # the value's words there too when this option came just before
            out.append(f"complete -c portview -n {fish_quote('__fish_prev_arg_in ' + long)}"
                       f" -a {fish_quote('(' + words + ')')} -d {fish_quote(desc)}")
        if letter and how == "optional":
            out.append(f"complete -c portview -s {letter[1:]} -d {fish_quote(desc)}")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().split("\n")[2])
    opts = table(sys.argv[1])
    outdir = sys.argv[2]
    for name, text in (("portview", bash(opts)), ("_portview", zsh(opts)),
                       ("portview.fish", fish(opts))):
        with open(f"{outdir}/{name}", "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()

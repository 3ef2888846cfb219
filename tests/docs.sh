#!/usr/bin/env bash
# The man page renders without warnings and documents every option that
# --help lists; the README shows the two quick-start commands.
set -u
portview=$1
top=$2
man="$top/man/portview.8"
fail=0

warnings=$(groff -man -ww -z "$man" 2>&1)
if [ -n "$warnings" ]; then
	echo "FAIL: groff -man -ww -z $man printed:"
	echo "$warnings"
	fail=1
else
	echo "ok: groff -man -ww -z prints nothing"
fi

plain=$(sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\f(..//g' "$man")
opts=$("$portview" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
[ -n "$opts" ] || { echo "FAIL: --help lists no long options"; fail=1; }
for o in $opts; do
	if ! grep -q -- "$o" <<<"$plain"; then
		echo "FAIL: $o is in --help but not in the man page"
		fail=1
	fi
done
echo "ok: checked $(wc -w <<<"$opts") long options of --help against the man page"

for s in "-a" "-l" "-t" "-u" "-4" "-6" "-o" "-p" "-n" "-h" "-V"; do
	"$portview" --help | grep -q -- "^  $s, --" || { echo "FAIL: --help lacks $s"; fail=1; }
	grep -q -- "^\.B \\\\$s\|^\\\\fB\\\\$s\|\\\\$s\b" "$man" ||
		{ echo "FAIL: man page lacks $s"; fail=1; }
done

# Every long option is exercised by some integration test.
for o in $opts; do
	if ! grep -q -- "\"$o\\b\|\"$o=\|\"$o\"\|'$o\\b\|b\"$o" "$top"/tests/integration/*.py; then
		echo "FAIL: $o is in --help but in no integration test"
		fail=1
	fi
done
echo "ok: every long option of --help is in an integration test"

# The README is short, and its links lead somewhere.
lines=$(wc -l <"$top/README.md")
[ "$lines" -le 150 ] || { echo "FAIL: README.md is $lines lines (a newcomer's page: 150 at most)"; fail=1; }
for l in $(grep -o '](\(docs/[^)]*\))' "$top/README.md" | sed 's/^](//; s/)$//'); do
	[ -f "$top/$l" ] || { echo "FAIL: README links to $l, which does not exist"; fail=1; }
done

# --help's last line leads to a page that exists: this tree's, from the
# build tree (man portview finds it only once installed).
last=$("$portview" --help | tail -n 1)
if [ "$last" = "The manual: man -l $man" ] || [ "$last" = "  man -l $man" ]; then
	MANWIDTH=80 man -l "$man" >/dev/null 2>&1 || { echo "FAIL: man -l $man fails"; fail=1; }
	echo "ok: --help's last line names the page: $last"
else
	echo "FAIL: --help's last line from the build tree is '$last', not man -l $man"
	fail=1
fi
# groff's own warnings at 80 columns, as man shows the page
warnings=$(MANWIDTH=80 man --warnings -l "$man" 2>&1 >/dev/null)
[ -z "$warnings" ] || { echo "FAIL: MANWIDTH=80 man --warnings: $warnings"; fail=1; }

# Every command of the man page's EXAMPLES, run as written, with its
# documented exit status (0; --fail-on-pressure's 3 does not apply in an
# empty namespace): in a private network namespace where unshare can
# make one, `portview` this build.  The ones that run until stopped (an
# interval, --events) get SIGINT after 2 s, as Ctrl-C, and must end with
# 0; the rest have 60 s.  pid:4242 becomes a live process's PID.
examples=$(awk '/^\.SH EXAMPLES/ { f = 1; next } /^\.SH / { f = 0 }
	f && /^\.TP/ { if ((getline line) > 0) print line }' "$man" |
	sed 's/^\.B //; s/^"//; s/"$//; s/\\-/-/g; s/\\(aq/'"'"'/g; s/\\(dq/"/g')
sleep 60 &
live=$!
scratch=$(mktemp -d)
pv_abs=$(realpath "$portview")
n=0 failed=0
while IFS= read -r ex; do
	n=$((n + 1))
	case $ex in
	*" -i "* | *" 5 >>"* | *--events*) stop=2 ;;
	*) stop=60 ;;
	esac
	cmd=${ex//pid:4242/pid:$live}
	wrap=(bash -c)
	[ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && wrap=(unshare -n bash -c)
	(cd "$scratch" && PV="$pv_abs" STOP=$stop "${wrap[@]}" '
		portview() { timeout -s INT -k 10 --preserve-status "$STOP" "$PV" "$@"; }
		export -f portview 2>/dev/null
		'"$cmd" >/dev/null 2>"$scratch/err" </dev/null)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: EXAMPLES: '$ex' exited $rc: $(head -c 300 "$scratch/err")"
		fail=1 failed=$((failed + 1))
	fi
done <<<"$examples"
kill $live 2>/dev/null
rm -rf "$scratch"
[ "$n" -ge 20 ] || { echo "FAIL: only $n EXAMPLES found"; fail=1; }
[ $failed = 0 ] && echo "ok: ran the $n commands of EXAMPLES, each with exit status 0"

for c in "scripts/run -no" "scripts/test"; do
	grep -q -- "$c" "$top/README.md" || { echo "FAIL: README lacks '$c'"; fail=1; }
done
exit $fail

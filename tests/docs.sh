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

for c in "scripts/run -no" "scripts/test"; do
	grep -q -- "$c" "$top/README.md" || { echo "FAIL: README lacks '$c'"; fail=1; }
done
exit $fail

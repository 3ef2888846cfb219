#!/usr/bin/env bash
# The four places an option is known, held together: every option of
# `portview --list-options` (the table in src/cli_options.c) is in --help
# (unless the table hides it there), among the options man/portview.8's
# OPTIONS section documents, and in at least one test under tests/; every
# option that section documents is in the table.
set -u
portview=$1
top=$2
man="$top/man/portview.8"
fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}

list=$("$portview" --list-options) || bad "portview --list-options exited $?"
help=$("$portview" --help)
[ -n "$list" ] || bad "--list-options prints nothing"

# The tags of the OPTIONS section's entries (the line after .TP or .TQ),
# as plain text, and the long and short options in them.
tags=$(awk '/^\.SH OPTIONS/ { f = 1; next } /^\.SH / { f = 0 }
	f && (/^\.TP/ || /^\.TQ/) { if ((getline line) > 0) print line }' "$man" |
	sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\f(..//g; s/"//g')
man_long=$(grep -o -- '--[a-z][a-z0-9-]*' <<<"$tags" | sort -u)
man_short=$(grep -oE -- '(^|[ ,])-[a-zA-Z0-9]\b' <<<"$tags" | tr -d ' ,' | sort -u)
[ -n "$man_long" ] || bad "no options found in the man page's OPTIONS section"

tested() {
	# A test names the option: quoted (Python, C, shell), as --name=, or
	# in a list of arguments.
	grep -rqE -- "[\"' \[]$1([\"' =]|\$)" "$top/tests/integration" "$top/tests/unit" \
		"$top/tests/fuzz" "$top/tests/docs.sh" 2>/dev/null
}

n=0
while IFS=$'\t' read -r long letter arg group shown; do
	n=$((n + 1))
	[ -n "$shown" ] || { bad "--list-options line '$long' has not 5 fields"; continue; }
	if [ "$shown" = help ]; then
		grep -qE -- "(^| )$long([ =[]|\$)" <<<"$help" || bad "$long is not in --help"
		if [ "$letter" != - ]; then
			grep -qE -- "^  $letter, $long" <<<"$help" ||
				bad "--help does not show $letter with $long"
		fi
	fi
	grep -qx -- "$long" <<<"$man_long" || bad "$long is not in the man page's OPTIONS"
	if [ "$letter" != - ]; then
		grep -qx -- "$letter" <<<"$man_short" || bad "$letter is not in the man page's OPTIONS"
	fi
	tested "$long" || { [ "$letter" != - ] && tested "$letter"; } ||
		bad "$long is in no test under tests/"
done <<<"$list"
echo "ok: checked $n options of --list-options against --help, the man page and the tests"

table_long=$(cut -f1 <<<"$list" | sort -u)
table_short=$(cut -f2 <<<"$list" | grep -v '^-$' | sort -u)
for o in $man_long; do
	grep -qx -- "$o" <<<"$table_long" || bad "the man page documents $o, which --list-options lacks"
done
for o in $man_short; do
	grep -qx -- "$o" <<<"$table_short" || bad "the man page documents $o, which --list-options lacks"
done
echo "ok: checked $(wc -w <<<"$man_long $man_short") options of the man page against --list-options"
exit $fail

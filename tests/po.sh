#!/usr/bin/env bash
# The message catalogs (po/): each LANG.po compiles with msgfmt -c (its
# format strings match their originals, its header is whole), has no
# untranslated and no fuzzy message, and translates every message the
# sources hold today (xgettext run afresh, with po/meson.build's
# arguments, and msgcmp against it): a message added to the code without
# its translation fails here.  To bring a catalog up to date:
#   ninja -C build portview-pot portview-update-po, then translate.
# usage: tests/po.sh TOP XGETTEXT-ARGS...
set -u
top=$1
shift
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$top" && xgettext --package-name=portview -f po/POTFILES -D . -o "$tmp/fresh.pot" "$@") ||
	{ echo "FAIL: xgettext could not read po/POTFILES' sources"; exit 1; }
echo "ok: xgettext: $(grep -c '^msgid ' "$tmp/fresh.pot") messages in the sources"

for lang in $(grep -v '^#' "$top/po/LINGUAS"); do
	po="$top/po/$lang.po"
	if ! stats=$(LC_ALL=C msgfmt -c --statistics -o /dev/null "$po" 2>&1); then
		echo "FAIL: msgfmt -c $po:"
		echo "$stats"
		fail=1
		continue
	fi
	if grep -Eq 'untranslated|fuzzy' <<<"$stats"; then
		echo "FAIL: $lang.po: $stats"
		LC_ALL=C msgattrib --untranslated --only-fuzzy "$po" 2>/dev/null | head -40
		LC_ALL=C msgattrib --untranslated "$po" 2>/dev/null | grep '^msgid' | head -20
		fail=1
	else
		echo "ok: $lang.po: $stats"
	fi
	if ! out=$(LC_ALL=C msgcmp "$po" "$tmp/fresh.pot" 2>&1); then
		echo "FAIL: $lang.po lacks messages the sources hold now:"
		echo "$out" | head -40
		fail=1
	else
		echo "ok: $lang.po translates every message of the sources"
	fi
done
exit $fail

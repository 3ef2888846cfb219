#!/usr/bin/env bash
# The Debian package, built once by scripts/package (dpkg-buildpackage and
# lintian, which must report no error and no warning): its contents
# (dpkg-deb -c: the binary, the man page, the three completions, the
# three systemd units, the copyright and lintian overrides, the Japanese
# catalog), its
# dependencies (shared libraries only: no libbpf, no build tool), the
# -dbgsym beside it; then unpacked into a scratch root, where its
# portview runs --version (naming the BPF owners and events built in) and -no, its
# man page renders, and its bash completion offers --state.
# usage: tests/package.sh TOP
set -u
top=$1
fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}
ok() { echo "PASS: $*"; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$SECONDS
if "$top/scripts/package" "$out/dist" >"$out/package.log" 2>&1; then
	ok "scripts/package builds the package; lintian: no error, no warning"
else
	sed 's/^/      /' "$out/package.log" | tail -n 40
	bad "scripts/package failed (its output above)"
	exit 1
fi
echo "   (scripts/package: $((SECONDS - start)) s)"
grep -A30 '^lintian:' "$out/package.log" | sed 's/^/      /'

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
deb="$out/dist/portview_${version}_${arch}.deb"
[ -f "$deb" ] || bad "no $deb"
[ -f "$out/dist/portview-dbgsym_${version}_${arch}.deb" ] || bad "no -dbgsym package"

files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/portview /usr/share/man/man8/portview.8.gz \
	/usr/share/bash-completion/completions/portview \
	/usr/share/zsh/vendor-completions/_portview \
	/usr/share/fish/vendor_completions.d/portview.fish \
	/lib/systemd/system/portview-metrics.service \
	/lib/systemd/system/portview-metrics.timer \
	/lib/systemd/system/portview-events.service \
	/usr/share/doc/portview/copyright \
	/usr/share/lintian/overrides/portview /usr/share/locale/ja/LC_MESSAGES/portview.mo; do
	grep -qx -- "$f" <<<"$files" || bad "the package lacks $f"
done
ok "dpkg-deb -c: $(grep -c -v '/$' <<<"$files") files, the expected ones among them"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libmnl0 libc-ares2; do
	grep -q "$lib" <<<"$depends" || bad "Depends lacks $lib: $depends"
done
grep -qE 'libbpf|clang|bpftool|libelf' <<<"$depends" && bad "Depends has a build tool: $depends"
ok "Depends: $depends"

# the metrics timer enabled and started on install; the event stream
# enabled only where the administrator had it (debian-installed), never
# started
scripts=$(dpkg-deb -I "$deb" postinst 2>/dev/null)
grep -q "deb-systemd-helper enable 'portview-metrics.timer'" <<<"$scripts" &&
	grep -q "deb-systemd-invoke .* 'portview-metrics.timer'" <<<"$scripts" ||
	bad "postinst does not enable and start portview-metrics.timer"
grep -q "deb-systemd-helper debian-installed 'portview-events.service'" <<<"$scripts" &&
	! grep -q "deb-systemd-invoke .*portview-events" <<<"$scripts" ||
	bad "postinst enables or starts portview-events.service"
ok "postinst: the metrics timer enabled and started, the event stream not"

root="$out/root"
dpkg -x "$deb" "$root"
v=$("$root/usr/bin/portview" --version 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "^portview $version" <<<"$v" && grep -q "BPF owners, BPF events" <<<"$v"; then
	ok "the unpacked portview --version: $(tr '\n' ' ' <<<"$v")"
else
	bad "the unpacked portview --version exited $rc: $v"
fi
"$root/usr/bin/portview" -no >/dev/null 2>"$out/err" || bad "the unpacked portview -no failed: $(cat "$out/err")"
man_warn=$(MANWIDTH=80 man --warnings -l "$root/usr/share/man/man8/portview.8.gz" 2>&1 >/dev/null)
[ -z "$man_warn" ] || bad "the packaged man page: $man_warn"
comp=$(PATH="$root/usr/bin:$PATH" bash --norc -c "
	source '$root/usr/share/bash-completion/completions/portview'
	COMP_WORDS=(portview --st); COMP_CWORD=1; _portview portview --st portview
	echo \"\${COMPREPLY[*]}\"")
[ "$comp" = --state ] || bad "the packaged bash completion of portview --st: '$comp'"
ok "unpacked: portview -no runs, the man page renders, bash completes --st to $comp"

echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"
exit $fail

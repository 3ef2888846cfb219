# Sourced by scripts/run and scripts/test: install what is missing, then
# configure and build.  Build output goes to a log that is shown only when
# something fails, so `scripts/run -no` prints portview's table and nothing
# else.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build"
# ccache, where installed, is meson's compiler launcher: the same file
# compiled in build/ and in the mutants' copies of the tree
# (tests/mutants/run builds each copy in COPY/build, so the relative
# paths match) is one cache entry, not one compile per copy.
export CCACHE_NOHASHDIR=1
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top}

# Everything the build and portview need, by Debian package; scripts/test
# adds what only the tests use (set NEED_TEST_PACKAGES=1 before sourcing).
# (check is here too: the build configures its unit tests.)
packages="meson ninja-build pkg-config gcc libc6-dev libmnl-dev libc-ares-dev check python3"
# the owners' BPF iterator, built into a light skeleton (nothing at run time)
packages="$packages clang bpftool libbpf-dev"
# the --top screen
packages="$packages libncurses-dev"
# the message catalogs (po/: msgfmt, and xgettext for the portview-pot target)
packages="$packages gettext"
if [ "${NEED_TEST_PACKAGES:-0}" = 1 ]; then
	packages="$packages iproute2 util-linux groff-base valgrind clang libclang-rt-14-dev"
	# the parsers that read --metrics in tests/integration/test_summary.py
	packages="$packages python3-prometheus-client"
	# the terminal that tests/integration/test_watch.py drives the redraw in
	packages="$packages tmux"
	# compiles each file once for build/ and the mutants' copies of the tree
	packages="$packages ccache"
	# the shells whose completions tests/integration/test_completion.py loads
	packages="$packages bash-completion zsh fish"
	# the textfile collector that tests/integration/test_metrics_textfile.py feeds
	packages="$packages prometheus-node-exporter"
	# scripts/package and its test (tests/package.sh); jq for the man page's EXAMPLES
	packages="$packages dpkg-dev debhelper lintian jq"
	# the Japanese locale that tests/integration/test_i18n.py runs portview in
	packages="$packages locales"
fi

missing_packages() {
	local p missing=""
	for p in $packages; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	echo "${missing# }"
}

install_packages() {
	local missing
	missing=$(missing_packages)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "portview: missing Debian packages: $missing" >&2
		echo "Install them as root with:" >&2
		echo "  apt-get install -y $missing" >&2
		exit 1
	fi
	echo "portview: installing $missing" >&2
	local log
	log=$(mktemp)
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "portview: apt-get install failed" >&2
		exit 1
	fi
	rm -f "$log"
}

quietly() {
	local log
	log=$(mktemp)
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "portview: failed: $*" >&2
		exit 1
	fi
	rm -f "$log"
}

# build_portview [DIR [MESON OPTIONS...]]
build_portview() {
	local dir=${1:-$build}
	shift || true
	if [ ! -f "$dir/build.ninja" ]; then
		quietly meson setup "$dir" "$top" -Dwerror=true "$@"
	fi
	quietly ninja -C "$dir"
}

# ja_JP.UTF-8 for the tests (tests/integration/test_i18n.py), made once:
# localedef writes it into the locale archive, where it stays.
make_test_locale() {
	[ "${NEED_TEST_PACKAGES:-0}" = 1 ] || return 0
	locale -a 2>/dev/null | grep -qix 'ja_JP.utf8' && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "portview: no ja_JP.UTF-8 locale; as root: localedef -i ja_JP -f UTF-8 ja_JP.UTF-8" >&2
		return 0
	fi
	quietly localedef -i ja_JP -f UTF-8 ja_JP.UTF-8
}

install_packages
make_test_locale
build_portview

# shellcheck shell=bash
# Shared by tests/fuzz/run and tests/fuzz/regress (sourced, not run).
#
# Sets FUZZ_DIR, TOP, BUILD_DIR, HARNESSES and provides fuzz_build, which
# builds every harness with meson (-Dfuzzers=true), clang and libFuzzer in
# $BUILD_DIR, or exits 77 (a skip) when the toolchain is missing.
#
# Environment:
#   CC            the compiler (default clang)
#   FUZZ_CFLAGS   extra flags for every compile (e.g. -DFUZZ_ACK_ENDS_DUMP)
#   FUZZ_TARGETS  space-separated harness names to build (default: all)

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$FUZZ_DIR/../.." && pwd)
CC=${CC:-clang}

HARNESSES=()
for f in "$FUZZ_DIR"/fuzz_*.c; do
	n=$(basename "$f" .c)
	HARNESSES+=("${n#fuzz_}")
done
if [ -n "${FUZZ_TARGETS:-}" ]; then
	# shellcheck disable=SC2206
	HARNESSES=(${FUZZ_TARGETS})
fi

fuzz_say() { printf '%s\n' "$*" >&2; }

# The Debian package that carries libFuzzer for this clang.
fuzz_runtime_package() {
	local major
	major=$("$CC" -dumpversion 2>/dev/null | cut -d. -f1)
	major=${major:-14}
	if [ "$major" -ge 14 ] 2>/dev/null; then
		echo "libclang-rt-$major-dev"
	else
		echo "libclang-common-$major-dev"
	fi
}

# Exit 77 unless clang can build and run a libFuzzer binary with ASan+UBSan
# and libmnl is there to link.
fuzz_check_toolchain() {
	if ! command -v "$CC" >/dev/null 2>&1; then
		fuzz_say "SKIP: $CC not found."
		fuzz_say "  install it with: apt-get install clang $(CC=clang fuzz_runtime_package 2>/dev/null || echo libclang-rt-14-dev)"
		exit 77
	fi
	if ! "$CC" --version 2>/dev/null | grep -qi clang; then
		fuzz_say "SKIP: $CC is not clang (libFuzzer needs clang)."
		exit 77
	fi
	local probe
	probe=$(mktemp -d "${TMPDIR:-/tmp}/pv-fuzz-probe.XXXXXX")
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$probe/p.c"
	if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" \
		>"$probe/log" 2>&1 || ! "$probe/p" -runs=1 >>"$probe/log" 2>&1; then
		fuzz_say "SKIP: $CC cannot build a libFuzzer binary ($("$CC" --version | head -n1))."
		sed 's/^/  | /' "$probe/log" | tail -n 5 >&2
		fuzz_say "  libFuzzer (with the ASan/UBSan runtimes) comes with:"
		fuzz_say "    apt-get install $(fuzz_runtime_package)"
		rm -rf "$probe"
		exit 77
	fi
	rm -rf "$probe"
	if ! printf '#include <libmnl/libmnl.h>\nint main(void){return 0;}\n' |
		"$CC" -x c - -lmnl -o /dev/null >/dev/null 2>&1; then
		fuzz_say "SKIP: libmnl headers/library not found."
		fuzz_say "    apt-get install libmnl-dev"
		exit 77
	fi
	if ! command -v python3 >/dev/null 2>&1; then
		fuzz_say "SKIP: python3 is needed to generate the IANA table."
		exit 77
	fi
}

# fuzz_set_build_dir [DIR]: argument, else $FUZZ_BUILD_DIR, else build-fuzz/.
fuzz_set_build_dir() {
	BUILD_DIR=${1:-${FUZZ_BUILD_DIR:-$TOP/build-fuzz}}
	mkdir -p "$BUILD_DIR"
	BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
}

# Build every harness in $HARNESSES as $BUILD_DIR/fuzz_<name>: a meson
# build directory with CC=clang and -Dfuzzers=true (tests/fuzz/meson.build),
# the sanitizers on, the tests off; ninja builds the harnesses and the
# library they link, nothing else.  FUZZ_CFLAGS or CC changed: configured
# anew.
fuzz_build() {
	# shellcheck disable=SC2206
	local extra=(${FUZZ_CFLAGS:-}) conf
	conf=$(printf '%s\n' "$CC" "${extra[*]}")
	if [ -f "$BUILD_DIR/build.ninja" ] && [ "$conf" != "$(cat "$BUILD_DIR/.fuzz-conf" 2>/dev/null)" ]; then
		rm -rf "$BUILD_DIR"
	fi
	mkdir -p "$BUILD_DIR"
	if [ ! -f "$BUILD_DIR/build.ninja" ]; then
		local c_args="-fno-omit-frame-pointer ${extra[*]}"
		if ! CC=$CC meson setup "$BUILD_DIR" "$TOP" -Dfuzzers=true -Dtests=false \
			-Dbpf=disabled -Db_sanitize=address,undefined -Db_lundef=false \
			-Doptimization=1 -Ddebug=true -Dc_args="$c_args" >"$BUILD_DIR/setup.log" 2>&1; then
			sed 's/^/  | /' "$BUILD_DIR/setup.log" | tail -n 20 >&2
			fuzz_say "FAIL: configuring $BUILD_DIR (meson setup -Dfuzzers=true)"
			return 1
		fi
		printf '%s\n' "$conf" >"$BUILD_DIR/.fuzz-conf"
	fi
	local targets=() h
	for h in "${HARNESSES[@]}"; do
		if [ ! -e "$FUZZ_DIR/fuzz_$h.c" ]; then
			fuzz_say "FAIL: no harness tests/fuzz/fuzz_$h.c"
			return 1
		fi
		targets+=("fuzz_$h")
	done
	# The harnesses live in tests/fuzz/ of the build directory; the
	# scripts run them from its top.
	if ! ninja -C "$BUILD_DIR" "${targets[@]/#/tests/fuzz/}" >"$BUILD_DIR/build.log" 2>&1; then
		sed 's/^/  | /' "$BUILD_DIR/build.log" | grep -v '^  | \[' | tail -n 30 >&2
		fuzz_say "FAIL: building the harnesses (log: $BUILD_DIR/build.log)"
		return 1
	fi
	for h in "${HARNESSES[@]}"; do
		ln -sf "tests/fuzz/fuzz_$h" "$BUILD_DIR/fuzz_$h"
	done
	return 0
}

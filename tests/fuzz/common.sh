# shellcheck shell=bash
# Shared by tests/fuzz/run and tests/fuzz/regress (sourced, not run).
#
# Sets FUZZ_DIR, TOP, BUILD_DIR, HARNESSES and provides fuzz_build, which
# compiles every harness with clang and libFuzzer into $BUILD_DIR, or exits
# 77 (a skip) when the toolchain is missing.
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
	mkdir -p "$BUILD_DIR/obj"
	BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
}

# Build every harness in $HARNESSES as $BUILD_DIR/fuzz_<name>.
fuzz_build() {
	local common=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE
		-DPORTVIEW_VERSION=\"fuzz\" -I"$TOP/include" -I"$FUZZ_DIR"
		-Wall -Wextra -Wno-unused-parameter)
	# shellcheck disable=SC2054 # the commas belong to the flag
	local san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
	# shellcheck disable=SC2206
	local extra=(${FUZZ_CFLAGS:-})
	local flagsum
	flagsum=$(printf '%s\n' "$CC" "${common[*]}" "${san[*]}" "${extra[*]}" | cksum | cut -d' ' -f1)

	# The IANA table, as meson makes it.
	local table="$BUILD_DIR/obj/iana-services.c"
	if [ ! -s "$table" ] || [ "$TOP/data/iana-services.tsv" -nt "$table" ] ||
		[ "$TOP/tools/gen-services.py" -nt "$table" ]; then
		if ! python3 "$TOP/tools/gen-services.py" "$TOP/data/iana-services.tsv" \
			"$table.tmp" || ! mv "$table.tmp" "$table"; then
			fuzz_say "FAIL: generating the IANA table"
			return 1
		fi
	fi

	# The portview sources (all of src/ but main.c), with coverage, in a
	# static archive: each harness links only the objects it uses, so a
	# source that needs another library (resolve.c: c-ares) costs nothing
	# unless a harness calls into it.
	local srcs=("$table") objs=() pids=() s o
	for s in "$TOP"/src/*.c; do
		[ "$(basename "$s")" = main.c ] || srcs+=("$s")
	done
	for s in "${srcs[@]}"; do
		o="$BUILD_DIR/obj/$(basename "$s" .c).$flagsum.o"
		# Rebuild when the source or any header is newer than the object.
		if [ ! -e "$o" ] || [ "$s" -nt "$o" ] ||
			[ -n "$(find "$TOP/include" -newer "$o" -name '*.h' -print -quit)" ]; then
			rm -f "$o"
			"$CC" "${common[@]}" "${san[@]}" -fsanitize=fuzzer-no-link "${extra[@]}" \
				-c "$s" -o "$o.tmp" 2>"$o.log" && mv "$o.tmp" "$o" &
			pids+=($!)
		fi
	done
	local failed=0 p
	for p in "${pids[@]}"; do
		wait "$p" || true
	done
	for s in "${srcs[@]}"; do
		o="$BUILD_DIR/obj/$(basename "$s" .c).$flagsum.o"
		if [ -e "$o" ]; then
			objs+=("$o")
		else
			# Left out; the link fails if a harness needs it.
			fuzz_say "warning: $(basename "$s") does not compile; left out:"
			sed 's/^/  | /' "$o.log" | head -n 10 >&2
		fi
	done
	local lib="$BUILD_DIR/obj/libportview-fuzz.$flagsum.a"
	rm -f "$lib"
	ar rcs "$lib" "${objs[@]}" || {
		fuzz_say "FAIL: making $lib"
		return 1
	}

	local h
	pids=()
	for h in "${HARNESSES[@]}"; do
		if [ ! -e "$FUZZ_DIR/fuzz_$h.c" ]; then
			fuzz_say "FAIL: no harness tests/fuzz/fuzz_$h.c"
			return 1
		fi
		# The harness itself gets no coverage instrumentation: its
		# checking code should not count as progress for the fuzzer.
		{ "$CC" "${common[@]}" "${san[@]}" "${extra[@]}" -c "$FUZZ_DIR/fuzz_$h.c" \
			-o "$BUILD_DIR/obj/fuzz_$h.o" &&
			"$CC" "${san[@]}" -fsanitize=fuzzer "$BUILD_DIR/obj/fuzz_$h.o" "$lib" \
				-lmnl -o "$BUILD_DIR/fuzz_$h"; } &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || failed=1
	done
	if [ "$failed" -ne 0 ]; then
		fuzz_say "FAIL: building the harnesses"
		return 1
	fi
	return 0
}

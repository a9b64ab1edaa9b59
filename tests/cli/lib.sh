# lib.sh: sourced by tests/cli/*.sh. Each case runs a command and checks its
# exit status, stdout or stderr; the script ends with `done_testing`.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/aoi-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
TESTDATA="$AOI_TOP/testdata"
cases=0 failed=0

# run CMD...: runs it, keeping status in $status, output in $T/out, $T/err
run() {
	"$@" >"$T/out" 2>"$T/err"
	status=$?
}

fail() {
	failed=$((failed + 1))
	echo "FAILED: $*"
	echo "  stdout: $(head -c 600 "$T/out" 2>/dev/null)"
	echo "  stderr: $(head -c 600 "$T/err" 2>/dev/null)"
}

# expect_status N DESCRIPTION
expect_status() {
	cases=$((cases + 1))
	[ "$status" -eq "$1" ] || fail "$2: exit status $status, expected $1"
}

# expect_err REGEX DESCRIPTION: stderr matches (grep -E)
expect_err() {
	cases=$((cases + 1))
	grep -Eq -- "$1" "$T/err" || fail "$2: stderr does not match /$1/"
}

# expect_out REGEX DESCRIPTION: stdout matches (grep -E)
expect_out() {
	cases=$((cases + 1))
	grep -Eq -- "$1" "$T/out" || fail "$2: stdout does not match /$1/"
}

# expect_eq ACTUAL EXPECTED DESCRIPTION
expect_eq() {
	cases=$((cases + 1))
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_true DESCRIPTION CMD...: the command succeeds
expect_true() {
	d=$1; shift
	cases=$((cases + 1))
	"$@" >/dev/null 2>&1 || fail "$d"
}

# One line of stderr, naming the program: what every error path must give.
expect_one_line_error() {
	cases=$((cases + 1))
	n=$(grep -c . "$T/err")
	[ "$n" -eq 1 ] && grep -Eq "^$1: error" "$T/err" || fail "$2: not a one-line '$1: error' message"
}

need_shared() {
	if [ ! -d "$AOI_SHARED/datasets/deeppcb" ]; then
		echo "skipped: ../shared/datasets/deeppcb is absent"
		return 1
	fi
}

# mkmap16 PATH W H V...: a 16-bit gray PNG (an anomaly map), W x H values
# row by row, written by python3 (callers check `command -v python3`).
mkmap16() {
	python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v = [int(x) for x in sys.argv[4:]]
assert len(v) == w * h
raw = b"".join(b"\0" + struct.pack(">%dH" % w, *v[y * w:(y + 1) * w]) for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0))
                      + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
}

done_testing() {
	echo "$cases cases, $failed failed"
	[ "$failed" -eq 0 ]
}

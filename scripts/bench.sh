#!/bin/sh
# bench.sh BIN_DIR: aoi against PyTorch and ONNX Runtime on the reference
# networks of ../shared/ARCHITECTURES.md, measured in the same run, printed
# as one Markdown table of median times and ratios (`make bench`).
#
# The peers run the shared reference scripts in ../shared/bench as they are
# (torch_ref.py, export_onnx.py, ort_ref.js); a peer that is not installed
# is skipped with the line that installs it.
#
# Environment: THREADS (default: all cores), REPS (timed runs, default 7),
# AOI_SHARED (default: ../shared next to the source tree), AOI_PEERS (where
# onnxruntime-node and the exported ONNX files live, ~/.cache/aoi-peers),
# CASES (space-separated case names, default all), PYTHON (/usr/bin/python3).
# The rest of the environment reaches all three programs as it is, and the
# table's last line names what matters for speed: AOI_ISA (aoi's kernel
# level, man aoi-bench), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (which
# kernels OpenBLAS, under aoi's backward passes and under PyTorch, picks).
# The pair with and without OpenBLAS's core type forced:
#   OPENBLAS_CORETYPE=Haswell make bench
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE make bench
set -u

BIN=${1:?usage: bench.sh BIN_DIR}
TOP=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${AOI_SHARED:-$TOP/../shared}
[ -d "$SHARED" ] || SHARED=/work/shared
REF=$SHARED/bench
PEERS=${AOI_PEERS:-$HOME/.cache/aoi-peers}
THREADS=${THREADS:-$(nproc 2>/dev/null || echo 1)}
REPS=${REPS:-7}
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d "${TMPDIR:-/tmp}/aoi-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

say() { echo "$*" >&2; }

# The cases, one a line: name | aoi-bench arguments | torch_ref.py case |
# ONNX file, channels, height, width (none: ONNX Runtime does not run it) |
# what the table calls it.
CASE_TABLE='
mbv2-unet-infer-512 | --arch mbv2-unet --size 512x512 --batch 1 | mbv2-unet-infer-512 | mbv2-unet-512.onnx 3 512 512 | mbv2-unet inference, 1x3x512x512
mbv2-unet-train-b8-256 | --arch mbv2-unet --train --size 256x256 --batch 8 | mbv2-unet-train-b8-256 | | mbv2-unet training step, batch 8, 3x256x256, SGD
alexnet-train-b32-224 | --arch alexnet --classes 3 --train --size 224x224 --batch 32 | alexnet-train-b32-224 | | alexnet training step, batch 32, 3x224x224, SGD
mbv2-corners-infer-256 | --arch mbv2-corners --size 256x256 --batch 1 | mbv2-corners-infer-256 | | mbv2-corners inference, 1x3x256x256
mbv2-unet-infer-1600x512 | --arch mbv2-unet --classes 6 --size 1600x512 --batch 1 | mbv2-unet-infer-1591x491 | mbv2-unet-1600x512.onnx 3 512 1600 | mbv2-unet inference, 1x3x512x1600
'
# (torch_ref.py's 1591x491 case runs 512x1600 inside.)

# case_field CASE N: the Nth column of CASE's row, spaces around it trimmed
case_field() {
	echo "$CASE_TABLE" | awk -F'|' -v c="$1" -v k="$2" '
		{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
		$1 == c { print $k }'
}
aoi_args() { case_field "$1" 2; }
torch_case() { case_field "$1" 3; }
ort_model() { case_field "$1" 4; }
describe() { case_field "$1" 5; }

ALL_CASES=$(echo "$CASE_TABLE" | awk -F'|' 'NF { gsub(/ +/, "", $1); printf "%s%s", s, $1; s = " " }')
CASES=${CASES:-$ALL_CASES}

# field NAME < json line: a number of a flat JSON object
field() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" | head -n 1; }

machine() {
	model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
	cpus=$(nproc 2>/dev/null)
	kern=$(cat "$W"/aoi.* 2>/dev/null | sed -n 's/.*"kernels":"\([a-z0-9]*\)".*/\1/p' | head -n 1)
	echo "Machine: ${model:-unknown CPU}, $cpus cores ($(uname -m)), threads: $THREADS;" \
		"load average (1, 5, 15 min) before: $LOAD_BEFORE, after: $(uptime | sed 's/.*load average: *//')."
	echo "aoi kernels: ${kern:-?}${AOI_ISA:+ (AOI_ISA=$AOI_ISA)};" \
		"OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-unset}; OPENBLAS_L2_SIZE: ${OPENBLAS_L2_SIZE:-unset}."
}

# ---- aoi ----
HAVE_AOI=1 HAVE_TORCH=1 HAVE_ORT=1

check_aoi() {
	if [ ! -x "$BIN/aoi-bench" ]; then
		say "skipped aoi: $BIN/aoi-bench is not built (make)"
		HAVE_AOI=0
	fi
}

run_aoi() {
	say "aoi: $1"
	# shellcheck disable=SC2046
	"$BIN/aoi-bench" $(aoi_args "$1") --threads "$THREADS" --runs "$REPS" \
		--warmup 2 >"$W/aoi.$1" 2>"$W/aoi.$1.err" ||
		say "  aoi-bench failed: $(tail -n 1 "$W/aoi.$1.err")"
}

# ---- PyTorch ----
have_torch() { "$PYTHON" -c 'import torch, torchvision' >/dev/null 2>&1; }

check_torch() {
	if [ ! -f "$REF/torch_ref.py" ]; then
		say "skipped PyTorch: $REF/torch_ref.py is absent"
		HAVE_TORCH=0
	elif ! have_torch; then
		say "skipped PyTorch: not installed; install with: apt-get install -y python3-torch python3-torchvision"
		HAVE_TORCH=0
	fi
}

run_torch() {
	say "PyTorch: $1"
	"$PYTHON" "$REF/torch_ref.py" --threads "$THREADS" --reps "$REPS" \
		--only "$(torch_case "$1")" >"$W/torch.$1" 2>"$W/torch.$1.err" ||
		say "  torch_ref.py failed: $(tail -n 1 "$W/torch.$1.err")"
}

# ---- ONNX Runtime ----
ORT_INSTALL="P=$PEERS; mkdir -p \$P && cd \$P && npm install --ignore-scripts onnxruntime-node@1.19.2"

ORT=$PEERS/node_modules/onnxruntime-node

# onnxruntime-node installed and the ONNX files exported (once, cached)
check_ort() {
	HAVE_ORT=0
	if [ ! -f "$REF/ort_ref.js" ] || [ ! -f "$REF/export_onnx.py" ]; then
		say "skipped ONNX Runtime: $REF/ort_ref.js or export_onnx.py is absent"
		return
	fi
	if ! command -v node >/dev/null 2>&1 || [ ! -d "$ORT" ]; then
		say "skipped ONNX Runtime: not installed; install with: $ORT_INSTALL"
		return
	fi
	if [ ! -f "$PEERS/mbv2-unet-512.onnx" ] || [ ! -f "$PEERS/mbv2-unet-1600x512.onnx" ]; then
		if ! have_torch; then
			say "skipped ONNX Runtime: exporting the models needs PyTorch (apt-get install -y python3-torch python3-torchvision)"
			return
		fi
		say "ONNX Runtime: exporting the models to $PEERS"
		"$PYTHON" "$REF/export_onnx.py" "$PEERS" >"$W/export.log" 2>&1 ||
			{ say "  export_onnx.py failed: $(tail -n 1 "$W/export.log")"; return; }
	fi
	HAVE_ORT=1
}

run_ort() {
	m=$(ort_model "$1")
	[ -n "$m" ] || return 0
	say "ONNX Runtime: $1"
	c=$1
	set -- $m
	ORT_MODULE=$ORT node "$REF/ort_ref.js" "$PEERS/$1" "$2" "$3" "$4" "$THREADS" "$REPS" \
		>"$W/ort.$c" 2>"$W/ort.$c.err" ||
		say "  ort_ref.js failed: $(tail -n 1 "$W/ort.$c.err")"
}

# ---- the table ----
ms() { [ "$1" = n/a ] && echo n/a && return; [ -n "$1" ] && awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }' || echo "-"; }
ratio() { [ "$2" != n/a ] && [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
med() { [ -s "$1" ] && field median_s <"$1" || true; }

table() {
	echo "| case | aoi | PyTorch | ONNX Runtime | aoi/PyTorch | aoi/ORT | aoi GFLOP/s (share of sgemm peak) | FP32 bound (GFLOP at peak) |"
	echo "|---|---|---|---|---|---|---|---|"
	for c in $CASES; do
		a=$(med "$W/aoi.$c") t=$(med "$W/torch.$c") o=$(med "$W/ort.$c")
		g="-" b="-"
		if [ -s "$W/aoi.$c" ]; then
			gf=$(field gflops <"$W/aoi.$c") sh=$(field peak_share <"$W/aoi.$c")
			gl=$(field gflop <"$W/aoi.$c") pk=$(field peak_gflops <"$W/aoi.$c")
			[ -n "$gf" ] && [ -n "$sh" ] &&
				g=$(awk -v g="$gf" -v s="$sh" 'BEGIN { printf "%.1f (%.0f%%)", g, 100 * s }')
			[ -n "$gl" ] && [ -n "$pk" ] &&
				b=$(awk -v g="$gl" -v p="$pk" 'BEGIN { printf "%.0f ms (%.1f)", 1000 * g / p, g }')
		fi
		[ -n "$(ort_model "$c")" ] || o=n/a
		echo "| $(describe "$c") | $(ms "$a") | $(ms "$t") | $(ms "$o") | $(ratio "$a" "$t") | $(ratio "$a" "$o") | $g | $b |"
	done
	pk=$(cat "$W"/aoi.* 2>/dev/null | field peak_gflops)
	echo
	echo "Medians of $REPS timed runs after warm-up, threads: $THREADS; ratios are aoi's time over the peer's (below 1: aoi is faster)."
	echo "A training step counts as three forward passes of FLOPs; ONNX Runtime runs inference only (n/a)."
	[ -n "$pk" ] && awk -v p="$pk" -v t="$THREADS" 'BEGIN { printf "FP32 peak of this machine: %.1f GFLOP/s (cblas_sgemm on 2048x2048 matrices, OpenBLAS, threads: %d, measured before each case; this one from the first).\n", p, t }'
	echo "Absolute times drift with the load on the machine; the ratios, taken case by case in one run, drift less."
	machine
}

# Case by case, the three side by side, so that a load that comes and goes
# on the machine touches them alike.
LOAD_BEFORE=$(uptime | sed 's/.*load average: *//')
check_aoi
check_torch
check_ort
for c in $CASES; do
	[ "$HAVE_AOI" = 1 ] && run_aoi "$c"
	[ "$HAVE_TORCH" = 1 ] && run_torch "$c"
	[ "$HAVE_ORT" = 1 ] && run_ort "$c"
done
table

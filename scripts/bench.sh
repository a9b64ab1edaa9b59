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
ALL_CASES="mbv2-unet-infer-512 mbv2-unet-train-b8-256 alexnet-train-b32-224 mbv2-corners-infer-256 mbv2-unet-infer-1600x512"
CASES=${CASES:-$ALL_CASES}
W=$(mktemp -d "${TMPDIR:-/tmp}/aoi-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

say() { echo "$*" >&2; }

# case -> aoi-bench arguments, torch_ref.py case name, ONNX file and shape
aoi_args() {
	case $1 in
	mbv2-unet-infer-512) echo "--arch mbv2-unet --size 512x512 --batch 1" ;;
	mbv2-unet-train-b8-256) echo "--arch mbv2-unet --train --size 256x256 --batch 8" ;;
	alexnet-train-b32-224) echo "--arch alexnet --classes 3 --train --size 224x224 --batch 32" ;;
	mbv2-corners-infer-256) echo "--arch mbv2-corners --size 256x256 --batch 1" ;;
	mbv2-unet-infer-1600x512) echo "--arch mbv2-unet --classes 6 --size 1600x512 --batch 1" ;;
	esac
}
torch_case() {
	case $1 in
	mbv2-unet-infer-1600x512) echo mbv2-unet-infer-1591x491 ;; # 512x1600 inside
	*) echo "$1" ;;
	esac
}
ort_model() {
	case $1 in
	mbv2-unet-infer-512) echo "mbv2-unet-512.onnx 3 512 512" ;;
	mbv2-unet-infer-1600x512) echo "mbv2-unet-1600x512.onnx 3 512 1600" ;;
	esac
}
describe() {
	case $1 in
	mbv2-unet-infer-512) echo "mbv2-unet inference, 1x3x512x512" ;;
	mbv2-unet-train-b8-256) echo "mbv2-unet training step, batch 8, 3x256x256, SGD" ;;
	alexnet-train-b32-224) echo "alexnet training step, batch 32, 3x224x224, SGD" ;;
	mbv2-corners-infer-256) echo "mbv2-corners inference, 1x3x256x256" ;;
	mbv2-unet-infer-1600x512) echo "mbv2-unet inference, 1x3x512x1600" ;;
	esac
}

# field NAME < json line: a number of a flat JSON object
field() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" | head -n 1; }

machine() {
	model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
	cpus=$(nproc 2>/dev/null)
	echo "Machine: ${model:-unknown CPU}, $cpus cores ($(uname -m)); threads: $THREADS;" \
		"load before the run:$(uptime | sed 's/.*load average://')"
}

# ---- aoi ----
run_aoi() {
	if [ ! -x "$BIN/aoi-bench" ]; then
		say "skipped aoi: $BIN/aoi-bench is not built (make)"
		return
	fi
	for c in $CASES; do
		say "aoi: $c"
		# shellcheck disable=SC2046
		"$BIN/aoi-bench" $(aoi_args "$c") --threads "$THREADS" --runs "$REPS" \
			--warmup 2 >"$W/aoi.$c" 2>"$W/aoi.$c.err" ||
			say "  aoi-bench failed: $(tail -n 1 "$W/aoi.$c.err")"
	done
}

# ---- PyTorch ----
have_torch() { "$PYTHON" -c 'import torch, torchvision' >/dev/null 2>&1; }

run_torch() {
	if [ ! -f "$REF/torch_ref.py" ]; then
		say "skipped PyTorch: $REF/torch_ref.py is absent"
		return
	fi
	if ! have_torch; then
		say "skipped PyTorch: not installed; install with: apt-get install -y python3-torch python3-torchvision"
		return
	fi
	for c in $CASES; do
		say "PyTorch: $c"
		"$PYTHON" "$REF/torch_ref.py" --threads "$THREADS" --reps "$REPS" \
			--only "$(torch_case "$c")" >"$W/torch.$c" 2>"$W/torch.$c.err" ||
			say "  torch_ref.py failed: $(tail -n 1 "$W/torch.$c.err")"
	done
}

# ---- ONNX Runtime ----
ORT_INSTALL="P=$PEERS; mkdir -p \$P && cd \$P && npm install --ignore-scripts onnxruntime-node@1.19.2"

run_ort() {
	ort=$PEERS/node_modules/onnxruntime-node
	if [ ! -f "$REF/ort_ref.js" ] || [ ! -f "$REF/export_onnx.py" ]; then
		say "skipped ONNX Runtime: $REF/ort_ref.js or export_onnx.py is absent"
		return
	fi
	if ! command -v node >/dev/null 2>&1 || [ ! -d "$ort" ]; then
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
	for c in $CASES; do
		m=$(ort_model "$c")
		[ -n "$m" ] || continue
		say "ONNX Runtime: $c"
		set -- $m
		ORT_MODULE=$ort node "$REF/ort_ref.js" "$PEERS/$1" "$2" "$3" "$4" "$THREADS" "$REPS" \
			>"$W/ort.$c" 2>"$W/ort.$c.err" ||
			say "  ort_ref.js failed: $(tail -n 1 "$W/ort.$c.err")"
	done
}

# ---- the table ----
ms() { [ -n "$1" ] && awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }' || echo "-"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
med() { [ -s "$1" ] && field median_s <"$1" || true; }

table() {
	echo "| case | aoi | PyTorch | ONNX Runtime | aoi/PyTorch | aoi/ORT | aoi GFLOP/s (share of sgemm peak) |"
	echo "|---|---|---|---|---|---|---|"
	for c in $CASES; do
		a=$(med "$W/aoi.$c") t=$(med "$W/torch.$c") o=$(med "$W/ort.$c")
		g="-"
		if [ -s "$W/aoi.$c" ]; then
			gf=$(field gflops <"$W/aoi.$c") sh=$(field peak_share <"$W/aoi.$c")
			[ -n "$gf" ] && g=$(awk -v g="$gf" -v s="$sh" 'BEGIN { printf "%.1f (%.0f%%)", g, 100 * s }')
		fi
		echo "| $(describe "$c") | $(ms "$a") | $(ms "$t") | $(ms "$o") | $(ratio "$a" "$t") | $(ratio "$a" "$o") | $g |"
	done
	pk=$(cat "$W"/aoi.* 2>/dev/null | field peak_gflops)
	echo
	echo "Medians of $REPS timed runs after warm-up, $THREADS threads; ratios are aoi's time over the peer's (below 1: aoi is faster)."
	[ -n "$pk" ] && echo "FP32 peak of this machine: $pk GFLOP/s (cblas_sgemm, OpenBLAS, large square matrices, $THREADS threads)."
	machine
}

run_aoi
run_torch
run_ort
table

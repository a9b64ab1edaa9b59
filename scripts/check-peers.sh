#!/bin/sh
# check-peers.sh BIN_DIR: aoi's ONNX files in ONNX Runtime (`make check-peers`).
#
# Every named architecture (aoi-train --list) is trained for one step on
# testdata/train at 64x64 (random weights and moved batch-norm statistics),
# exported with aoi-model export and run by ONNX Runtime; every file of
# testdata/onnx is run by ONNX Runtime as it is, and imported and exported
# again. Each output must be aoi-model run's on the same input to 1e-4 of
# its largest magnitude. Skipped, with the line that installs it, when
# onnxruntime-node (as ../shared/bench installs it) is absent.
#
# Environment: AOI_PEERS (where node_modules/onnxruntime-node lives,
# ~/.cache/aoi-peers), TOL (1e-4), ARCHS (the architectures to export,
# space-separated; default: all, "none": only testdata/onnx).
set -u

BIN=${1:?usage: check-peers.sh BIN_DIR}
TOP=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${AOI_PEERS:-$HOME/.cache/aoi-peers}
ORT=$PEERS/node_modules/onnxruntime-node
TOL=${TOL:-1e-4}
RUN=$TOP/scripts/ort-run.js

if ! command -v node >/dev/null 2>&1 || [ ! -d "$ORT" ]; then
	echo "skipped: ONNX Runtime is not installed; install with:" \
		"P=$PEERS; mkdir -p \$P && cd \$P && npm install --ignore-scripts onnxruntime-node@1.19.2"
	exit 0
fi
export ORT_MODULE=$ORT
W=$(mktemp -d "${TMPDIR:-/tmp}/aoi-peers.XXXXXX")
trap 'rm -rf "$W"' EXIT
pass=0 fail=0

# check NAME MODEL ONNX C H W [CLASSES]: ONNX Runtime on ONNX against
# aoi-model run on MODEL, batch 2; CLASSES: the ONNX file ends in a softmax
# over that many classes, which aoi's import drops
check() {
	name=$1 model=$2 onnx=$3 c=$4 h=$5 w=$6 k=${7:-}
	node "$RUN" input "$W/in.f32" 2 "$c" "$h" "$w" 7 &&
		node "$RUN" run "$onnx" "$W/in.f32" 2 "$c" "$h" "$w" "$W/ort.f32" 2>"$W/err" &&
		"$BIN/aoi-model" run "$model" "$W/in.f32" -o "$W/aoi.f32" --exact -j 2 2>>"$W/err" &&
		res=$(node "$RUN" compare "$W/aoi.f32" "$W/ort.f32" "$TOL" $k)
	status=$?
	if [ "$status" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'ok   %-16s %s\n' "$name" "$res"
	else
		fail=$((fail + 1))
		printf 'FAIL %-16s %s %s\n' "$name" "${res:-}" "$(tail -n 1 "$W/err")"
	fi
	res=
}

# the named architectures, one step of training each
D=$TOP/testdata/train/train.jsonl
ARCHS=${ARCHS:-$("$BIN/aoi-train" --list | awk '{ print $1 }')}
[ "$ARCHS" = none ] && ARCHS=
for arch in $ARCHS; do
	m=$W/$arch.aoim
	if ! "$BIN/aoi-train" --arch "$arch" --size 64x64 --epochs 1 --max-steps 1 --batch 2 \
		-j 2 --log /dev/null -o "$m" "$D" >"$W/err" 2>&1 ||
		! "$BIN/aoi-model" export "$m" -o "$W/$arch.onnx" 2>"$W/err"; then
		fail=$((fail + 1))
		printf 'FAIL %-16s %s\n' "$arch" "$(tail -n 1 "$W/err")"
		continue
	fi
	check "$arch" "$m" "$W/$arch.onnx" 3 64 64
done

# the ONNX files of testdata/onnx: as they are, and imported and exported
for name in $(sed -n 's/.*"name": "\([^"]*\)".*/\1/p' "$TOP/testdata/onnx/cases.json"); do
	f=$TOP/testdata/onnx/$name.onnx
	line=$(grep "\"name\": \"$name\"" "$TOP/testdata/onnx/cases.json")
	shape=$(echo "$line" | sed -n 's/.*"input": \[[0-9]*, \([0-9]*\), \([0-9]*\), \([0-9]*\)\].*/\1 \2 \3/p')
	k=$(echo "$line" | sed -n 's/.*"output": \[[0-9]*, \([0-9]*\)\].*"final_softmax": true.*/\1/p')
	# shellcheck disable=SC2086
	check "$name" "$f" "$f" $shape $k
	if "$BIN/aoi-model" import "$f" -o "$W/$name.aoim" 2>"$W/err" &&
		"$BIN/aoi-model" export "$W/$name.aoim" -o "$W/$name.onnx" 2>"$W/err"; then
		# shellcheck disable=SC2086
		check "$name (again)" "$W/$name.aoim" "$W/$name.onnx" $shape
	else
		fail=$((fail + 1))
		printf 'FAIL %-16s %s\n' "$name (again)" "$(tail -n 1 "$W/err")"
	fi
done
echo "check-peers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

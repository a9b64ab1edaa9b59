# train.sh: aoi-train on the tiny generated boards of testdata/train: the
# loss falls, resume continues exactly, a signal stops cleanly, errors.
. "$AOI_TOP/tests/cli/lib.sh"

D="$TESTDATA/train/train.jsonl"
SEG="--arch mbv2-unet-s --size 32x32 --gray --template --batch 4 -j 1 --lr 0.01"

# field NAME LINE: a number from a JSON log line
field() {
	echo "$2" | sed -n "s/.*\"$1\":\([-0-9.e]*\).*/\1/p"
}

# (cross-entropy alone: the default's dice term, near 1 until defects are
# found, falls slowly on these few pixels)
run aoi-train $SEG --loss ce --epochs 6 --log "$T/log" -o "$T/seg.aoim" "$D"
expect_status 0 "segmentation training"
expect_eq "$(grep -c '"epoch"' "$T/log")" 6 "one log line per epoch"
first=$(field loss "$(head -n 1 "$T/log")")
last=$(field loss "$(tail -n 1 "$T/log")")
cases=$((cases + 1))
awk "BEGIN { exit !($last < 0.5 * $first) }" || fail "loss falls: $first -> $last"
expect_true "validation metrics in the log" grep -q '"miou":.*"f1":{"open":' "$T/log"
expect_true "model written" test -s "$T/seg.aoim"

# Two epochs, then two more from the checkpoint: the same numbers as four
# epochs in one go (weights, optimiser state and epoch count continue). A
# constant rate: the default cosine is planned over --epochs, which the
# resumed run changes.
AUG="--augment flip,rot=10 --schedule const"
run aoi-train $SEG $AUG --epochs 4 --log "$T/full" -o "$T/full.aoim" "$D"
expect_status 0 "four epochs"
run aoi-train $SEG $AUG --epochs 2 --checkpoint "$T/ck" -o "$T/half.aoim" "$D"
expect_status 0 "two epochs with a checkpoint"
run aoi-train $SEG $AUG --resume "$T/ck" --epochs 4 --log "$T/resumed" -o "$T/half.aoim" "$D"
expect_status 0 "resume"
expect_eq "$(head -n 1 "$T/resumed" | sed 's/.*"epoch":\([0-9]*\).*/\1/')" 3 "resume starts at epoch 3"
expect_eq "$(tail -n 1 "$T/resumed" | sed 's/,"seconds".*//')" \
	"$(tail -n 1 "$T/full" | sed 's/,"seconds".*//')" "resumed epoch 4 = uninterrupted epoch 4"

# SIGINT: a checkpoint, exit 1 with a message, and --resume continues.
aoi-train $SEG --epochs 100000 --log "$T/sig" -o "$T/sig.aoim" "$D" 2>"$T/sigerr" &
pid=$!
i=0
while [ "$(grep -c epoch "$T/sig" 2>/dev/null)" != 1 ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid
wait $pid
status=$?
expect_status 1 "stopped by SIGINT"
cases=$((cases + 1))
grep -q "stopped after epoch [0-9]* of 100000; continue with --resume $T/sig.aoim.ckpt" "$T/sigerr" ||
	fail "SIGINT message: $(cat "$T/sigerr")"
done_epochs=$(sed -n 's/.*stopped after epoch \([0-9]*\).*/\1/p' "$T/sigerr")
expect_true "checkpoint written on SIGINT" test -s "$T/sig.aoim.ckpt"
run aoi-train $SEG --resume "$T/sig.aoim.ckpt" --epochs $((done_epochs + 1)) --log "$T/sig2" -o "$T/sig.aoim" "$D"
expect_status 0 "resume after SIGINT"
expect_eq "$(grep -c epoch "$T/sig2")" 1 "one epoch left after SIGINT"

# --time-limit: the first epoch always runs, no later one past the limit.
run aoi-train $SEG --epochs 5 --time-limit 0.00001 -o "$T/tl.aoim" "$D"
expect_status 0 "--time-limit ends the run as done"
expect_eq "$(grep -c epoch "$T/out")" 1 "--time-limit: one epoch"

# Windows of images shrunk by half: the model says so for aoi-infer.
run aoi-train $SEG --crop --scale 0.5 --size 32x32 --epochs 1 -o "$T/crop.aoim" "$TESTDATA/train/big.jsonl"
expect_status 0 "--crop --scale"
run aoi-train $SEG --resize --scale 0.5 -o "$T/x.aoim" "$D"
expect_status 2 "--scale with --resize"
run aoi-train $SEG --crop --resize -o "$T/x.aoim" "$D"
expect_status 2 "--crop and --resize"

# The other tasks.
run aoi-train --arch mbv2-cls-s --size 32x32 --gray --template -b 4 -j 1 -e 2 -o "$T/cls.aoim" "$D"
expect_status 0 "classification training"
expect_out '"accuracy":' "classification log"
run aoi-train --arch mbv2-corners-s --size 32x32 --gray -b 4 -j 1 -e 2 -o "$T/kp.aoim" "$D"
expect_status 0 "keypoint training"
expect_out '"centre_mae":' "keypoint log"

# --init from the segmentation model, encoder frozen.
run aoi-train $SEG --epochs 1 --init "$T/seg.aoim" --freeze encoder -o "$T/ft.aoim" "$D"
expect_status 0 "--init --freeze"
expect_err "--init: [0-9]+ of [0-9]+ tensors from" "--init reports the tensors copied"
run aoi-train $SEG --epochs 1 --freeze nothing -o "$T/x.aoim" "$D"
expect_status 1 "--freeze of no block"
expect_one_line_error aoi-train "--freeze of no block"

# Errors.
run aoi-train $SEG -o "$T/x.aoim" "$T/none.jsonl"
expect_status 1 "missing dataset"
expect_one_line_error aoi-train "missing dataset"
expect_err "none.jsonl" "missing dataset named"
mkdir -p "$T/d"
cp "$TESTDATA"/train/*.png "$T/d/"
{ head -n 1 "$D"; echo '{"id": broken'; } >"$T/d/bad.jsonl"
run aoi-train $SEG -o "$T/x.aoim" "$T/d/bad.jsonl"
expect_status 1 "malformed line"
expect_err "bad.jsonl:2" "malformed line located"
expect_one_line_error aoi-train "malformed line"
# a batch of one reaching 1x1: batch norm would output a constant
run aoi-train $SEG --batch 1 -o "$T/x.aoim" "$D"
expect_status 1 "batch norm over one value"
expect_err "one value per channel \\(1 image of 32x32 at 1x1 there\\)" "batch norm over one value explained"
expect_one_line_error aoi-train "batch norm over one value"
{ head -n 1 "$D"; head -n 2 "$D" | tail -n 1 | sed 's/b01.png/gone.png/'; } >"$T/d/gone.jsonl"
run aoi-train $SEG -o "$T/x.aoim" "$T/d/gone.jsonl"
expect_status 1 "missing image"
expect_err "gone.jsonl:2.*gone.png" "missing image located"
run aoi-train $SEG --resume "$T/none.ckpt" -o "$T/x.aoim" "$D"
expect_status 1 "missing checkpoint"
expect_one_line_error aoi-train "missing checkpoint"
head -c 3000 "$T/ck" >"$T/trunc.ckpt"
run aoi-train $SEG --resume "$T/trunc.ckpt" -o "$T/x.aoim" "$D"
expect_status 1 "truncated checkpoint"
expect_err "trunc.ckpt" "truncated checkpoint named"
run aoi-train $SEG --init "$T/trunc.ckpt" -o "$T/x.aoim" "$D"
expect_status 1 "truncated --init model"
run aoi-train $SEG --loss mse -o "$T/x.aoim" "$D"
expect_status 1 "a loss that does not fit the task"
expect_err "does not fit segmentation" "loss mismatch explained"
expect_true "no model left by failures" test ! -e "$T/x.aoim"

for bad in "--epochs 0" "--optim rmsprop" "--schedule weekly" "--augment spin=3" \
	"--size 32" "--lr -1" "--val a --val-split 0.2" "--bogus" "--sampling some" \
	"--defect-windows 2" "--warmup -1"; do
	run aoi-train $SEG $bad -o "$T/x.aoim" "$D"
	expect_status 2 "bad option $bad"
done
run aoi-train --arch nonet -o "$T/x.aoim" "$D"
expect_status 2 "unknown architecture"
run aoi-train $SEG "$D"
expect_status 2 "missing -o"
run aoi-train -o "$T/x.aoim" "$D"
expect_status 2 "missing --arch"
run aoi-train --list
expect_out "^mbv2-unet-s +segmentation" "--list"

done_testing

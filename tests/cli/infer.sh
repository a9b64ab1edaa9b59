# infer.sh: aoi-infer with tiny models trained on testdata/train: the pred
# objects of the three tasks, masks at the original size, tiling, errors.
. "$AOI_TOP/tests/cli/lib.sh"

D="$TESTDATA/train/train.jsonl"
SEG="--arch mbv2-unet-s --size 32x32 --gray --template --batch 4 -j 1 --lr 0.01"
aoi-train $SEG --epochs 8 -o "$T/seg.aoim" "$D" >/dev/null 2>&1
aoi-train --arch mbv2-cls-s --size 32x32 --gray --template -b 4 -j 1 -e 2 -o "$T/cls.aoim" "$D" >/dev/null 2>&1
aoi-train --arch mbv2-corners-s --size 32x32 --gray -b 4 -j 1 -e 2 -o "$T/kp.aoim" "$D" >/dev/null 2>&1

run aoi-infer -m "$T/seg.aoim" --masks "$T/masks" -j 1 "$D"
expect_status 0 "segmentation inference"
expect_eq "$(grep -c '"pred":{"mask":"'"$T"'/masks/b[0-9]*.png","classes":\["open","short"\],"pixels":{"open":[0-9]*,"short":[0-9]*},"prob":[0-9.]*,"defect_prob":[0-9.e-]*,"label":"[a-z]*","boxes":\[' "$T/out")" 16 \
	"every record gets a segmentation pred"
expect_true "records keep their fields" grep -q '^{"id":"b00","image":"b00.png"' "$T/out"
expect_true "a mask per record" test -s "$T/masks/b15.png"
expect_eq "$(od -An -tu1 -j16 -N8 "$T/masks/b03.png" | tr -s ' ')" " 0 0 0 32 0 0 0 32" \
	"mask at the original size"
cp "$T/out" "$T/seg.jsonl"

# --min-box drops exactly the boxes narrower or lower than its sides (a
# model with defect classes weighed up, so that it draws boxes).
boxes() { grep -o '\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,"[a-z]*",[0-9.]*\]' "$1" | tr -d "[]" | tr ',' ' '; }
aoi-train $SEG --epochs 8 --class-weights 0.02,1,1 -o "$T/segw.aoim" "$D" >/dev/null 2>&1
aoi-infer -m "$T/segw.aoim" -j 1 "$D" >"$T/segw.jsonl"
w=$(boxes "$T/segw.jsonl" | awk '$3 - $1 > w { w = $3 - $1 } END { print w + 0 }')
expect_true "the weighed model draws boxes" test "$w" -gt 1
run aoi-infer -m "$T/segw.aoim" --min-box "${w}x2" -j 1 "$D"
expect_status 0 "--min-box"
expect_eq "$(boxes "$T/out" | awk -v w="$w" '$3 - $1 < w || $4 - $2 < 2' | wc -l)" 0 "no box under ${w}x2 left"
expect_eq "$(boxes "$T/out" | wc -l)" \
	"$(boxes "$T/segw.jsonl" | awk -v w="$w" '$3 - $1 >= w && $4 - $2 >= 2' | wc -l)" \
	"every box of at least ${w}x2 kept"
run aoi-infer -m "$T/segw.aoim" --min-box "$((w + 1))x1" -j 1 "$D"
expect_eq "$(boxes "$T/out" | wc -l)" 0 "a box side larger than all: no box"

# The same predictions whatever the batch size.
run aoi-infer -m "$T/seg.aoim" -b 3 -j 1 "$D"
expect_eq "$(sed 's/"mask":"[^"]*",//' "$T/out" | md5sum)" \
	"$(sed 's/"mask":"[^"]*",//' "$T/seg.jsonl" | md5sum)" "batch size does not change predictions"

# --flips: four runs per input, averaged (the mirroring is checked in
# tests/unit/test_infer.c); on the first pipeline stage only (the stages
# are in infer_stages.sh); not for classifiers.
run aoi-infer -m "$T/seg.aoim" --flips -b 3 --masks "$T/flipped" -j 1 "$D"
expect_status 0 "--flips"
expect_true "--flips writes masks" test -s "$T/flipped/b15.png"
run aoi-infer -m "$T/seg.aoim" --flips --stage 2/2 </dev/null
expect_status 2 "--flips on a later stage"
run aoi-infer -m "$T/cls.aoim" --flips "$D"
expect_status 1 "--flips for a classifier"
expect_one_line_error aoi-infer "--flips for a classifier"

# A 64x64 board through a 32x32 network: tiles, or resized.
run aoi-infer -m "$T/seg.aoim" --tile --overlap 8 --masks "$T/big" -j 1 "$TESTDATA/train/big.jsonl"
expect_status 0 "tiled inference"
expect_eq "$(od -An -tu1 -j16 -N8 "$T/big/big.png" | tr -s ' ')" " 0 0 0 64 0 0 0 64" \
	"tiled mask at the original size"
run aoi-infer -m "$T/seg.aoim" --resize --masks "$T/big2" -j 1 "$TESTDATA/train/big.jsonl"
expect_status 0 "resized inference"
expect_eq "$(od -An -tu1 -j16 -N8 "$T/big2/big.png" | tr -s ' ')" " 0 0 0 64 0 0 0 64" \
	"resized mask back at the original size"

# --size: the 32x32 segmentation network run at 64x64, one tile per board.
run aoi-infer -m "$T/seg.aoim" --size 64x64 --masks "$T/big4" -j 1 "$TESTDATA/train/big.jsonl"
expect_status 0 "--size 64x64"
expect_eq "$(od -An -tu1 -j16 -N8 "$T/big4/big.png" | tr -s ' ')" " 0 0 0 64 0 0 0 64" \
	"--size mask at the original size"
run aoi-infer -m "$T/seg.aoim" --size 48x40 "$TESTDATA/train/big.jsonl"
expect_status 1 "--size not a multiple of 32"
expect_one_line_error aoi-infer "--size not a multiple of 32"
run aoi-infer -m "$T/cls.aoim" --size 64x64 "$D"
expect_status 1 "--size for a classifier"

# A model trained on half-size windows shrinks the 64x64 board to 32x32.
aoi-train $SEG --crop --scale 0.5 --epochs 1 -o "$T/crop.aoim" "$TESTDATA/train/big.jsonl" >/dev/null 2>&1
run aoi-infer -m "$T/crop.aoim" --masks "$T/big3" -j 1 "$TESTDATA/train/big.jsonl"
expect_status 0 "inference with a scaled crop model"
expect_eq "$(od -An -tu1 -j16 -N8 "$T/big3/big.png" | tr -s ' ')" " 0 0 0 64 0 0 0 64" \
	"scaled model's mask at the original size"

cat "$D" | (cd "$TESTDATA/train" && aoi-infer -m "$T/cls.aoim" -j 1) >"$T/out" 2>"$T/err"
expect_eq "$(grep -c '"pred":{"label":"\(good\|defective\)","probs":{"good":[0-9.]*,"defective":[0-9.]*}}}$' "$T/out")" 16 \
	"classification pred from standard input"
run aoi-infer -m "$T/kp.aoim" --root "$TESTDATA/train" -j 1 <"$D"
expect_eq "$(grep -c '"pred":{"keypoints":\[\[[-0-9.]*,[-0-9.]*\],\[.*\]\]}}$' "$T/out")" 16 \
	"keypoint pred with --root"

# Errors.
run aoi-infer -m "$T/none.aoim" "$D"
expect_status 1 "missing model"
expect_one_line_error aoi-infer "missing model"
expect_err "none.aoim" "missing model named"
head -c 2000 "$T/seg.aoim" >"$T/trunc.aoim"
run aoi-infer -m "$T/trunc.aoim" "$D"
expect_status 1 "truncated model"
expect_one_line_error aoi-infer "truncated model"
expect_err "trunc.aoim" "truncated model named"
mkdir -p "$T/d"
cp "$TESTDATA"/train/*.png "$T/d/"
{ head -n 2 "$D"; echo '{"id":'; } >"$T/d/bad.jsonl"
run aoi-infer -m "$T/seg.aoim" -j 1 "$T/d/bad.jsonl"
expect_status 1 "malformed line"
expect_err "bad.jsonl:3" "malformed line located"
{ head -n 1 "$D"; sed -n 2p "$D" | sed 's/b01.png/gone.png/'; sed -n 3p "$D"; } >"$T/d/gone.jsonl"
printf 'not a png' >"$T/d/b02.png"
run aoi-infer -m "$T/seg.aoim" -j 1 "$T/d/gone.jsonl"
expect_status 1 "unreadable image"
expect_one_line_error aoi-infer "unreadable image"
expect_err "gone.jsonl:2" "unreadable image located"
run aoi-infer -m "$T/seg.aoim" -j 1 --keep-going "$T/d/gone.jsonl"
expect_status 0 "--keep-going"
expect_eq "$(wc -l <"$T/out")" 1 "--keep-going skips the bad records"
expect_eq "$(grep -c 'warning' "$T/err")" 2 "--keep-going warns per skipped record"
for bad in "-b 0" "--overlap -1" "--min-box 4" "--bogus"; do
	run aoi-infer -m "$T/seg.aoim" $bad "$D"
	expect_status 2 "bad option $bad"
done
run aoi-infer "$D"
expect_status 2 "missing -m"

# ensembles: several -m
aoi-infer -m "$T/seg.aoim" -j 1 "$D" >"$T/one.jsonl" 2>/dev/null
run aoi-infer -m "$T/seg.aoim" -m "$T/seg.aoim" -j 1 "$D"
expect_status 0 "an ensemble of a model with itself"
expect_eq "$(md5sum <"$T/out")" "$(md5sum <"$T/one.jsonl")" "a model with itself predicts as the model alone"
run aoi-infer -m "$T/seg.aoim" -m "$T/segw.aoim" -j 1 "$D"
expect_status 0 "an ensemble of two models"
expect_eq "$(grep -c '"pred":{' "$T/out")" 16 "the ensemble predicts every record"
expect_true "the ensemble is neither model alone" sh -c \
	"! cmp -s '$T/out' '$T/one.jsonl' && ! cmp -s '$T/out' '$T/segw.jsonl'"
run aoi-infer -m "$T/seg.aoim" -m "$T/cls.aoim" "$D"
expect_status 1 "an ensemble of a segmenter and a classifier"
expect_one_line_error aoi-infer "an ensemble of a segmenter and a classifier"
expect_err "cls.aoim" "the refusal names the second model"
run aoi-infer -m "$T/seg.aoim" -m "$T/seg.aoim" --stage 1/2 "$D"
expect_status 2 "an ensemble cut into stages"

done_testing

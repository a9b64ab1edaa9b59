# retrain.sh: the cron example on the tiny boards of testdata/train: new data
# is trained on and the model promoted or kept by the metric; bad new data is
# refused; nothing new is nothing to do; a held lock skips the run.
. "$AOI_TOP/tests/cli/lib.sh"

command -v jq >/dev/null 2>&1 && command -v flock >/dev/null 2>&1 ||
	{ echo "skipped: jq or flock is missing"; done_testing; exit; }
JOB="$AOI_TOP/examples/retrain-cron/retrain.sh"
H="$T/home"
mkdir -p "$H/inbox"
cp "$TESTDATA"/train/*.png "$H/"
head -n 10 "$TESTDATA/train/train.jsonl" > "$H/train.jsonl"
sed -n 11,13p "$TESTDATA/train/train.jsonl" > "$H/new.jsonl"
sed -n 14,16p "$TESTDATA/train/train.jsonl" > "$H/test.jsonl"
export AOI_HOME="$H" ARCH=mbv2-unet-s
export TRAIN_FLAGS="--size 32x32 --gray --template --batch 4 -j 1 --epochs 1 --max-steps 2"
run aoi-train --arch mbv2-unet-s $TRAIN_FLAGS -o "$H/model.aoi" "$H/train.jsonl"
expect_status 0 "the first model"

run sh "$JOB"
expect_status 0 "nothing new: nothing to do"
expect_true "nothing new writes no log" test ! -s "$H/retrain.log"

# a metric the new model always matches promotes it
cp "$H/new.jsonl" "$H/inbox/new.jsonl"
before=$(cksum < "$H/model.aoi")
METRIC=.ids.matched run sh "$JOB"
expect_status 0 "retrain and promote"
expect_true "promoted in the log" grep -q "promoted: .ids.matched 3 -> 3 (3 new records)" "$H/retrain.log"
expect_true "the model was swapped" test "$(cksum < "$H/model.aoi")" != "$before"
expect_eq "$(wc -l < "$H/train.jsonl")" 13 "the new records joined the training set"
expect_true "the inbox was emptied into done/" test -e "$H/done/new.jsonl" -a ! -e "$H/inbox/new.jsonl"

# a gain the new model cannot make keeps the old model
cp "$H/new.jsonl" "$H/inbox/again.jsonl"
before=$(cksum < "$H/model.aoi")
METRIC=.ids.matched MIN_GAIN=1 run sh "$JOB"
expect_status 0 "a run that keeps the old model exits 0"
expect_true "kept in the log" grep -q "kept the old model: .ids.matched 3 -> 3 falls short" "$H/retrain.log"
expect_eq "$(cksum < "$H/model.aoi")" "$before" "the old model stays"
expect_true "the records went to rejected/" test -e "$H/rejected/again.jsonl"

# bad new data is refused before training, and the model stays
printf '{"id":"x","image":"missing.png","label":"good"}\n' > "$H/inbox/bad.jsonl"
before=$(cksum < "$H/model.aoi")
run sh "$JOB"
expect_status 1 "bad new data is refused"
expect_true "refusal in the log" grep -q "refused: new data does not validate" "$H/retrain.log"
expect_eq "$(cksum < "$H/model.aoi")" "$before" "the model is untouched"

# another run holding the lock: this one skips
rm -f "$H/inbox/bad.jsonl"
cp "$H/new.jsonl" "$H/inbox/later.jsonl"
flock "$H/retrain.lock" sh "$JOB"
expect_true "a held lock skips the run" grep -q "skipped: another run holds the lock" "$H/retrain.log"

done_testing

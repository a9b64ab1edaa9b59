# infer_stages.sh: aoi-infer --stage K/N and --nodes A-B: a pipeline of
# stages writes the same records and masks, byte for byte, as one process
# (segmentation resized and tiled, classification, a record that fails);
# streams from another model, stage or batch, truncated or not streams at
# all are refused; usage errors.
. "$AOI_TOP/tests/cli/lib.sh"

D="$TESTDATA/train/train.jsonl"
BIG="$TESTDATA/train/big.jsonl"
SEG="--arch mbv2-unet-s --size 32x32 --gray --template --batch 4 -j 1 --lr 0.01"
aoi-train $SEG --epochs 2 -o "$T/seg.aoim" "$D" >/dev/null 2>&1
aoi-train $SEG --epochs 1 --seed 9 -o "$T/seg2.aoim" "$D" >/dev/null 2>&1
aoi-train --arch mbv2-cls-s --size 32x32 --gray --template -b 4 -j 1 -e 1 -o "$T/cls.aoim" "$D" >/dev/null 2>&1

# same_dirs A B: the same files with the same bytes
same_dirs() {
	cases=$((cases + 1))
	(cd "$1" && ls) >"$T/la"
	(cd "$2" && ls) >"$T/lb"
	ok=1
	cmp -s "$T/la" "$T/lb" || ok=0
	for f in $(cat "$T/la"); do
		cmp -s "$1/$f" "$2/$f" || ok=0
	done
	[ "$ok" -eq 1 ] && [ -s "$T/la" ] || fail "$3: masks differ"
}

# One process, then three stages, with the masks in the same place (the
# path is in the records).
aoi-infer -m "$T/seg.aoim" --masks "$T/m" -j 1 "$D" >"$T/one.jsonl" 2>"$T/err"
mv "$T/m" "$T/m1"
aoi-infer -m "$T/seg.aoim" --stage 1/3 -j 1 "$D" | aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 |
	aoi-infer -m "$T/seg.aoim" --stage 3/3 --masks "$T/m" -j 1 >"$T/three.jsonl" 2>"$T/err"
status=$?
expect_status 0 "3-stage segmentation pipeline"
expect_eq "$(wc -l <"$T/three.jsonl")" 16 "3 stages: every record"
expect_true "3 stages: the same records as one process" cmp "$T/one.jsonl" "$T/three.jsonl"
same_dirs "$T/m1" "$T/m" "3 stages: the same masks as one process"

# Each stage alone, through files: exit statuses, and a stream per stage.
run aoi-infer -m "$T/seg.aoim" --stage 1/3 -j 1 "$D"
expect_status 0 "stage 1 alone"
mv "$T/out" "$T/s1"
expect_eq "$(head -c 8 "$T/s1")" "AOISTAGE" "the stream starts with its magic"
expect_eq "$(tail -c 4 "$T/s1")" "END!" "the stream ends with its end marker"
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 <"$T/s1"
expect_status 0 "stage 2 alone"
mv "$T/out" "$T/s2"
rm -rf "$T/m"
run aoi-infer -m "$T/seg.aoim" --stage 3/3 --masks "$T/m" -j 1 <"$T/s2"
expect_status 0 "stage 3 alone"
expect_true "stages through files: the same records" cmp "$T/one.jsonl" "$T/out"

# Two stages by node numbers: the cut stage 2/3 starts at.
first=$(od -An -tu4 -j44 -N4 "$T/s1" | tr -d ' ')
last=$(od -An -tu4 -j44 -N4 "$T/s2" | tr -d ' ')
# the last node, from the message for a range past it
end=$(aoi-infer -m "$T/seg.aoim" --nodes 5-9999 </dev/null 2>&1 | sed -n 's/.*has nodes 0-\([0-9]*\).*/\1/p')
rm -rf "$T/m"
aoi-infer -m "$T/seg.aoim" --nodes 0-$((first - 1)) -j 1 "$D" |
	aoi-infer -m "$T/seg.aoim" --nodes "$first-$((last - 1))" -j 1 |
	aoi-infer -m "$T/seg.aoim" --nodes "$last-$end" -j 1 --masks "$T/m" >"$T/out" 2>"$T/err"
expect_true "--nodes, 3 stages: the same records" cmp "$T/one.jsonl" "$T/out"
same_dirs "$T/m1" "$T/m" "--nodes, 3 stages: the same masks"
aoi-infer -m "$T/seg.aoim" --nodes 0-$((first - 1)) -j 1 "$D" >"$T/n1"
expect_true "--nodes 0-A: the stream of --stage 1/3" cmp "$T/n1" "$T/s1"

# aoi-bench --layers --stages 3 prints the cuts --stage N/3 makes.
aoi-bench -m "$T/seg.aoim" -t 1 --runs 1 --warmup 0 --peak-size 0 \
	--layers --stages 3 >"$T/bench.json" 2>/dev/null
expect_true "aoi-bench's stages start where --stage 2/3 and 3/3 do" \
	grep -q "\"first_node\":\[1,$first,$last\]" "$T/bench.json"

# Tiles: a 64x64 board through the 32x32 network, batch 3 so that the
# tiles of one image span batches.
aoi-infer -m "$T/seg.aoim" --tile --overlap 8 -b 3 --masks "$T/t" -j 1 "$BIG" >"$T/one.jsonl"
mv "$T/t" "$T/t1"
aoi-infer -m "$T/seg.aoim" --tile --overlap 8 -b 3 --stage 1/2 -j 1 "$BIG" |
	aoi-infer -m "$T/seg.aoim" -b 3 --stage 2/2 --masks "$T/t" -j 1 >"$T/two.jsonl" 2>"$T/err"
expect_true "tiled, 2 stages: the same records" cmp "$T/one.jsonl" "$T/two.jsonl"
same_dirs "$T/t1" "$T/t" "tiled, 2 stages: the same mask"

# --flips on the first stage: the others follow.
aoi-infer -m "$T/seg.aoim" --flips -b 3 --masks "$T/f" -j 1 "$D" >"$T/one.jsonl"
mv "$T/f" "$T/f1"
aoi-infer -m "$T/seg.aoim" --flips -b 3 --stage 1/2 -j 1 "$D" |
	aoi-infer -m "$T/seg.aoim" -b 3 --stage 2/2 --masks "$T/f" -j 1 >"$T/two.jsonl" 2>"$T/err"
expect_true "--flips, 2 stages: the same records" cmp "$T/one.jsonl" "$T/two.jsonl"
same_dirs "$T/f1" "$T/f" "--flips, 2 stages: the same masks"
run aoi-infer -m "$T/seg.aoim" --flips --stage 2/2 </dev/null
expect_status 2 "--flips on a later stage"

# Classification, four stages, batches of 3 (the last one short), two
# threads in one stage.
aoi-infer -m "$T/cls.aoim" -b 3 -j 1 "$D" >"$T/one.jsonl"
aoi-infer -m "$T/cls.aoim" -b 3 --stage 1/4 -j 1 "$D" | aoi-infer -m "$T/cls.aoim" -b 3 --stage 2/4 -j 2 |
	aoi-infer -m "$T/cls.aoim" -b 3 --stage 3/4 -j 1 | aoi-infer -m "$T/cls.aoim" -b 3 --stage 4/4 -j 1 \
	>"$T/four.jsonl" 2>"$T/err"
expect_eq "$(grep -c '"probs"' "$T/four.jsonl")" 16 "classification, 4 stages: every record"
expect_true "classification, 4 stages: the same records" cmp "$T/one.jsonl" "$T/four.jsonl"

# One stage of one: no stream, the records themselves.
run aoi-infer -m "$T/cls.aoim" -b 3 --stage 1/1 -j 1 "$D"
expect_true "--stage 1/1 is one process" cmp "$T/one.jsonl" "$T/out"

# A record whose image is missing reaches the last stage: with -k it is
# skipped there with the same warning as one process gives; without, the
# last stage fails on it.
{ head -n 3 "$D"; echo '{"id":"gone","image":"gone.png","template":"t00.png"}'; tail -n 2 "$D"; } >"$T/bad.jsonl"
cp "$TESTDATA/train/"*.png "$T/"
aoi-infer -m "$T/seg.aoim" -k -j 1 "$T/bad.jsonl" >"$T/one.jsonl" 2>"$T/one.err"
aoi-infer -m "$T/seg.aoim" --stage 1/2 -j 1 "$T/bad.jsonl" |
	aoi-infer -m "$T/seg.aoim" --stage 2/2 -k -j 1 >"$T/two.jsonl" 2>"$T/two.err"
expect_true "-k: the same records" cmp "$T/one.jsonl" "$T/two.jsonl"
expect_true "-k: the same warning" cmp "$T/one.err" "$T/two.err"
expect_eq "$(wc -l <"$T/two.jsonl")" 5 "-k: the bad record skipped"
aoi-infer -m "$T/seg.aoim" --stage 1/2 -j 1 "$T/bad.jsonl" >"$T/s"
run aoi-infer -m "$T/seg.aoim" --stage 2/2 -j 1 <"$T/s"
expect_status 1 "a failed record without -k"
expect_one_line_error aoi-infer "a failed record without -k"
expect_err "bad.jsonl:4" "the failed record's place"

# Streams that are refused.
run aoi-infer -m "$T/seg2.aoim" --stage 2/3 -j 1 <"$T/s1"
expect_status 1 "a stream from another model"
expect_one_line_error aoi-infer "a stream from another model"
expect_err "another model" "another model named"
run aoi-infer -m "$T/seg.aoim" --stage 3/3 -j 1 <"$T/s1"
expect_status 1 "a stream for another stage"
expect_one_line_error aoi-infer "a stream for another stage"
expect_err "starts at node" "another stage named"
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -b 2 -j 1 <"$T/s1"
expect_status 1 "a stream with another batch"
expect_one_line_error aoi-infer "a stream with another batch"
head -c 100000 "$T/s1" >"$T/trunc"
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 <"$T/trunc"
expect_status 1 "a truncated stream"
expect_one_line_error aoi-infer "a truncated stream"
expect_err "truncated" "truncated named"
head -c -4 "$T/s2" >"$T/noend"
run aoi-infer -m "$T/seg.aoim" --stage 3/3 -j 1 <"$T/noend"
expect_status 1 "a stream without its end marker"
expect_one_line_error aoi-infer "a stream without its end marker"
# the first chunk's record count (after the header: 60 bytes and 20 per
# tensor, then the tag) made 255
ntens=$(od -An -tu4 -j56 -N4 "$T/s1" | tr -d ' ')
cp "$T/s1" "$T/corrupt"
printf '\377' | dd of="$T/corrupt" bs=1 seek=$((60 + 20 * ntens + 4)) conv=notrunc 2>/dev/null
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 <"$T/corrupt"
expect_status 1 "a corrupt stream"
expect_one_line_error aoi-infer "a corrupt stream"
expect_err "corrupt" "corrupt named"
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 <"$D"
expect_status 1 "records instead of a stream"
expect_one_line_error aoi-infer "records instead of a stream"
expect_err "not an aoi-infer stage stream" "wrong magic named"
run aoi-infer -m "$T/seg.aoim" --stage 2/3 -j 1 </dev/null
expect_status 1 "an empty stream"
expect_one_line_error aoi-infer "an empty stream"

# Usage errors.
run aoi-infer -m "$T/seg.aoim" --stage 4/3 "$D"
expect_status 2 "--stage K > N"
expect_err "K is larger than N" "--stage K > N named"
run aoi-infer -m "$T/seg.aoim" --stage 1/500 "$D"
expect_status 2 "more stages than cuts"
expect_err "at most" "more stages than cuts named"
run aoi-infer -m "$T/seg.aoim" --stage 1/2 --amqp amqp://localhost --consume a --publish b
expect_status 2 "--stage with --amqp"
run aoi-infer -m "$T/seg.aoim" --stage 2/2 "$D"
expect_status 2 "a later stage with a DATASET"
run aoi-infer -m "$T/seg.aoim" --stage 1-2 "$D"
expect_status 2 "--stage not K/N"
run aoi-infer -m "$T/seg.aoim" --nodes 5-3 "$D"
expect_status 2 "--nodes A > B"
run aoi-infer -m "$T/seg.aoim" --nodes 1-1 "$D"
expect_status 2 "--nodes ending inside a fused group"
expect_err "no cut between nodes 1 and 2" "--nodes ending inside a fused group named"
run aoi-infer -m "$T/seg.aoim" --nodes 5-9999 </dev/null
expect_status 2 "--nodes past the last node"
expect_err "nodes 0-" "--nodes past the last node named"
run aoi-infer -m "$T/seg.aoim" --stage 1/2 --nodes 1-3 "$D"
expect_status 2 "--stage and --nodes"

done_testing

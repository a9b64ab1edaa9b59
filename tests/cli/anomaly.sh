# anomaly.sh: learning from good images only: aoi-train --arch patchcore
# and padim on synthetic textures, the self-supervised route (--synth),
# aoi-infer's scores and maps, the errors.
. "$AOI_TOP/tests/cli/lib.sh"

aoi-synth texture -q --classes 1 -n 48 --size 64x64 --defective 0.25 --seed 3 \
	-o "$T/tex" --base "$T" > "$T/tex.jsonl"
D="$T/tex.jsonl"
PC="--backbone mbv2-cls-s --gray --size 64x64 --batch 4 -j 1"

# mean_score LABEL FILE: the mean pred.score of the records of that true
# label (before "pred", whose own label is the model's)
mean_score() {
	sed -n "s/.*\"label\":\"$1\".*\"pred\":{\"score\":\([-0-9.e]*\).*/\1/p" "$2" |
		awk '{ s += $1; n++ } END { if (n) printf "%.6g\n", s / n; else print "none" }'
}

run aoi-train --arch patchcore $PC --coreset 0.1 -o "$T/pc.aoim" "$D"
expect_status 0 "patchcore fit"
expect_err "patchcore on [0-9]+ good images \([0-9]+ skipped\).*bank [0-9]+ \(.*MiB\); threshold" \
	"the fit reports the bank and its memory"
expect_true "model written" test -s "$T/pc.aoim"

run aoi-infer -m "$T/pc.aoim" -j 1 --masks "$T/maps" "$D"
expect_status 0 "patchcore inference"
cp "$T/out" "$T/pc.jsonl"
expect_eq "$(grep -c '"pred":{"score":' "$T/pc.jsonl")" 48 "a score per record"
expect_true "threshold" grep -q '"threshold":' "$T/pc.jsonl"
expect_true "anomaly map and heatmap named" grep -q '"anomaly":{"map":".*anomaly.png","scale":.*"heatmap":' "$T/pc.jsonl"
expect_true "16-bit map written" test -s "$T/maps/texture-000000.anomaly.png"
expect_true "heatmap written" test -s "$T/maps/texture-000000.heat.png"
# render blends the heatmap in: the picture differs from one without it
sed 's/,"heatmap":"[^"]*"//' "$T/pc.jsonl" > "$T/noheat.jsonl"
run aoi-datatool render --out "$T/rend" "$T/pc.jsonl"
expect_status 0 "render of anomaly predictions"
run aoi-datatool render --out "$T/rend2" "$T/noheat.jsonl"
expect_true "the heatmap drawn" sh -c "! cmp -s '$T/rend/texture-000000.png' '$T/rend2/texture-000000.png'"
sed 's/\.heat\.png/.anomaly.png/' "$T/pc.jsonl" > "$T/badheat.jsonl"
run aoi-datatool render --out "$T/rend3" "$T/badheat.jsonl"
expect_status 1 "a heatmap that is not an RGB picture of the image"
expect_err "anomaly.png.*heatmap is" "the bad heatmap named"
good=$(mean_score good "$T/pc.jsonl")
bad=$(mean_score defective "$T/pc.jsonl")
cases=$((cases + 1))
awk "BEGIN { exit !($bad > $good) }" || fail "patchcore: defective scores $bad above good $good"
# aoi-metrics takes the scores and maps: image AUROC, pixel AUROC and PRO
run aoi-metrics --truth "$D" "$T/pc.jsonl"
expect_status 0 "aoi-metrics on anomaly predictions"
tr -d ' \n' < "$T/out" > "$T/metrics.flat"
expect_true "image AUROC from pred.score" \
	grep -q '"image_scores":{"images":48,.*"sources":{"score":48},"auroc":0\.[5-9]' "$T/metrics.flat"
expect_true "pixel AUROC and PRO from pred.anomaly" \
	grep -q '"pixels":{"images":48,"skipped":0,.*"auroc":0\.[5-9][0-9]*,"pro":[0-9.]' "$T/metrics.flat"

run aoi-train --arch padim $PC --dims 32 -o "$T/padim.aoim" "$D"
expect_status 0 "padim fit"
expect_err "padim on .*positions [0-9]+" "padim reports its positions"
run aoi-infer -m "$T/padim.aoim" -j 1 "$D"
expect_status 0 "padim inference"
cp "$T/out" "$T/padim.jsonl"
good=$(mean_score good "$T/padim.jsonl")
bad=$(mean_score defective "$T/padim.jsonl")
cases=$((cases + 1))
awk "BEGIN { exit !($bad > $good) }" || fail "padim: defective scores $bad above good $good"

# The self-supervised route: a small segmentation net on good images with
# painted anomalies becomes an anomaly model, and a backbone.
run aoi-train --arch mbv2-unet-s --synth all --gray --size 64x64 --batch 4 -j 1 \
	--epochs 1 --lr 0.01 --log "$T/log" -o "$T/ss.aoim" "$D"
expect_status 0 "self-supervised training"
expect_err "segmentation anomaly model: threshold [0-9][0-9.e-]* \([1-9][0-9]* good validation" \
	"without validation records a tenth is held out for the threshold"
run aoi-infer -m "$T/ss.aoim" -j 1 "$D"
expect_status 0 "self-supervised inference"
expect_eq "$(grep -c '"pred":{"score":' "$T/out")" 48 "a score per record"
run aoi-train --arch patchcore --backbone "$T/ss.aoim" --batch 4 -j 1 -o "$T/pc2.aoim" "$D"
expect_status 0 "patchcore on the self-supervised backbone"

# Errors: usage, bad backbone, bad layers, truncation, pipeline stages.
run aoi-train --arch patchcore -o "$T/x.aoim" "$D"
expect_status 2 "patchcore without --backbone"
run aoi-train --arch mbv2-cls-s --backbone mbv2-cls-s -o "$T/x.aoim" "$D"
expect_status 2 "--backbone without an anomaly method"
run aoi-train --arch patchcore --backbone no-such-net -o "$T/x.aoim" "$D"
expect_status 1 "unknown backbone"
expect_one_line_error aoi-train "unknown backbone"
run aoi-train --arch patchcore $PC --layers encoder.99 -o "$T/x.aoim" "$D"
expect_status 1 "unknown layer"
expect_err "no block 'encoder.99'" "the unknown layer is named"
expect_true "nothing written after an error" test ! -e "$T/x.aoim"
run aoi-train --arch mbv2-cls-s --synth all -o "$T/x.aoim" "$D"
expect_status 1 "--synth on a classifier"
expect_err "segmentation" "--synth needs a segmentation network"
head -c 20000 "$T/pc.aoim" > "$T/cut.aoim"
run aoi-infer -m "$T/cut.aoim" "$D"
expect_status 1 "truncated anomaly model"
expect_err "cut.aoim.*truncated" "truncation named"
run aoi-infer -m "$T/pc.aoim" --tile "$D"
expect_status 1 "tiles refused"
expect_err "resizes each image to its input: no --tile" "tiles refused clearly"
run aoi-infer -m "$T/ss.aoim" --size 128x128 "$D"
expect_status 1 "--size refused"
expect_err "an anomaly model runs at the input size it was fitted at" "--size refused clearly"
run aoi-train --arch mbv2-unet-s --synth all --decision -o "$T/x.aoim" "$D"
expect_status 2 "--decision with --synth"
expect_err "an anomaly model decides by its score" "--decision with --synth refused clearly"
run aoi-train --arch padim $PC --decision -o "$T/x.aoim" "$D"
expect_status 2 "--decision with padim"
run aoi-train --arch mbv2-unet-s --synth all --crop -o "$T/x.aoim" "$D"
expect_status 1 "--synth with --crop"
expect_err "no --crop" "--synth with --crop refused clearly"
run aoi-infer -m "$T/pc.aoim" --stage 1/2 "$D"
expect_status 2 "pipeline stages"
expect_err "anomaly model \(patchcore\) runs in one process" "stages refused clearly"

done_testing

# bench.sh: aoi-bench on tiny runs (compact nets at 32x32, 2 runs). No
# timing is checked, only that every figure is there and the modes agree.
. "$AOI_TOP/tests/cli/lib.sh"

tiny="--size 32x32 --runs 2 --warmup 1 --peak-size 64"

run aoi-bench --arch mbv2-unet-s $tiny --threads 1
expect_status 0 "inference, JSON"
expect_eq "$(grep -c . "$T/out")" 1 "one line per thread count"
expect_out '^\{"net":"mbv2-unet-s","mode":"infer","task":"segmentation","width":32,"height":32,"batch":1,"threads":1,"runs":2,' \
	"inference line starts with what was run"
for f in gflop median_s p95_s p99_s images_per_s gflops peak_gflops peak_share speedup; do
	expect_out "\"$f\":[0-9]" "inference line has $f"
done

run aoi-bench -a mbv2-unet-s $tiny
expect_status 0 "default threads: all cores"
expect_out "\"threads\":$(nproc),.*\"speedup\":1\.0,\"efficiency\":1\.0" "one pass at all cores"

run aoi-bench -a mbv2-unet-s $tiny -t 1,2 -b 2 --price-per-hour 0.272 --target 35
expect_status 0 "scaling over 1,2 threads"
expect_eq "$(grep -c '"mode":"infer"' "$T/out")" 2 "a line per thread count"
expect_out '"batch":2,"threads":2,.*"speedup":' "second line: speed-up against the first"
expect_out '"cost_per_million":[0-9].*"meets_target":(true|false)' "price and target"

run aoi-bench -a mbv2-unet-s $tiny -t 1 --price-per-hour 1 -f table
expect_status 0 "table"
expect_out '^threads +median_ms +p95_ms +p99_ms +img/s +GFLOP/s +%peak +speedup +cost/M_img' \
	"table header"
expect_out '^1 +[0-9.]+ +[0-9.]+ +[0-9.]+ ' "table row"

run aoi-bench -a mbv2-cls-s $tiny -t 1 --layers --stages 3
expect_status 0 "layers and stages"
nodes=$(grep -c '"mode":"layer"' "$T/out")
cases=$((cases + 1))
[ "$nodes" -gt 100 ] || fail "mbv2-cls-s has its ~150 nodes, got $nodes"
expect_out '"mode":"layer".*"node":0,"kind":"input"' "the input node first"
expect_eq "$(grep '"mode":"layer"' "$T/out" | tail -n 1 | sed -n 's/.*"cum_flops_share":\([0-9.]*\).*/\1/p')" \
	1.0 "cumulative FLOPs reach the whole net"
expect_out '^\{"net":"mbv2-cls-s","mode":"stages","threads":1,"stages":3,"cut_by":"flops","first_node":\[1,[0-9]+,[0-9]+\],"nodes":\[' \
	"three stages, the first from node 1"

run aoi-bench -a mbv2-cls-s $tiny -t 1 --layers --stages 2 --cut-by time -f table
expect_status 0 "stages by time, table"
expect_out '^2 stages by time:' "stages heading"
expect_out '^  stage 2: nodes [0-9]+-[0-9]+' "second stage line"
expect_out 'pipelined: [0-9.]+ images/s' "pipelined rate"

run aoi-bench -a mbv2-cls-s $tiny -t 1 --train -b 2 --dataset-size 10
expect_status 0 "training steps"
expect_out '"mode":"train","task":"classification".*"forward_s":[0-9].*"loss_s":[0-9].*"backward_s":[0-9].*"optim_s":[0-9].*"dataset_size":10,"epoch_s":[0-9]' \
	"phases and the epoch"

run aoi-bench -a mbv2-corners-s --size 64x64 --runs 1 --warmup 0 --peak-size 0 -t 1 --train -b 2
expect_status 0 "keypoint net trains on MSE"
cases=$((cases + 1))
grep -q peak_share "$T/out" && fail "--peak-size 0 measures no peak"

# the whole chain on six synthetic 128x96 grey textures
(cd "$T" && aoi-synth texture -n 6 --size 128x96 -o img -q >ds.jsonl)
run aoi-bench -a mbv2-unet-s --size 64x64 --pipeline "$T/ds.jsonl" -t 1 --peak-size 0 \
	--target 35 --price-per-hour 0.272 --mask-dir "$T/masks"
expect_status 0 "pipeline"
expect_out '^\{"net":"mbv2-unet-s","mode":"pipeline","dataset":"[^"]*ds.jsonl","width":64,"height":64,"threads":1,"images":6,"rejected":[0-6],"slowest_stage":"[a-z]+","wall_s":[0-9]' \
	"pipeline line"
for f in decode_s preprocess_s infer_s write_s classify_s images_per_s cost_per_million; do
	expect_out "\"$f\":[0-9]" "pipeline line has $f"
done
expect_out '"meets_target":(true|false)' "target"
expect_eq "$(ls "$T/masks" | wc -l)" 6 "a mask per image in --mask-dir"
expect_true "masks are 128x96 PNGs" sh -c "file '$T/masks/000005.png' | grep -q '128 x 96'"

printf '{"default": {"min_area": 100000}}\n' >"$T/lenient.json"
run aoi-bench -a mbv2-unet-s --size 64x64 --pipeline "$T/ds.jsonl" -t 1 --peak-size 0 \
	--limit 2 --rules "$T/lenient.json" -f table
expect_status 0 "pipeline table with rules and a limit"
expect_out '2 images at 64x64, threads 1: [0-9.]+ images/s, 0 rejected' "nothing that large"
expect_out '^infer +[0-9.]+ +[0-9.]+%' "infer row"
expect_out '^classify +[0-9.]+' "classify row"

printf '{"id":"x","image":"img/none.png","width":4,"height":4}\n' >"$T/missing.jsonl"
run aoi-bench -a mbv2-unet-s --size 64x64 --pipeline "$T/missing.jsonl" -t 1 --peak-size 0
expect_status 1 "pipeline on a missing image"
expect_one_line_error aoi-bench "missing image"
expect_err "missing.jsonl:1\\): .*none\\.png" "names the record and the image"

run aoi-bench -a mbv2-cls-s --size 32x32 --pipeline "$T/ds.jsonl" -t 1 --peak-size 0
expect_status 1 "pipeline needs a segmentation net"
expect_err "segmentation" "says so"
run aoi-bench -a mbv2-unet-s --rules "$T/lenient.json"
expect_status 2 "--rules without --pipeline"
run aoi-bench -a mbv2-unet-s --pipeline "$T/ds.jsonl" -b 2
expect_status 2 "--pipeline with a batch"

# errors
run aoi-bench --arch nope $tiny
expect_status 2 "unknown architecture"
expect_err "unknown architecture 'nope'" "names the architecture"

run aoi-bench --model "$T/missing.aoi" $tiny
expect_status 1 "missing model file"
expect_one_line_error aoi-bench "missing model file"
expect_err 'missing\.aoi' "names the file"

printf 'not a model\n' >"$T/bad.aoi"
run aoi-bench -m "$T/bad.aoi" $tiny
expect_status 1 "a file that is not a model"
expect_one_line_error aoi-bench "not a model"

run aoi-bench $tiny
expect_status 2 "no network"
run aoi-bench -a mbv2-unet-s -m "$T/bad.aoi"
expect_status 2 "two networks"
run aoi-bench -a mbv2-unet-s --stages 3
expect_status 2 "--stages without --layers"
run aoi-bench -a mbv2-unet-s --layers --train
expect_status 2 "--layers with --train"
run aoi-bench -a mbv2-unet-s --size 32
expect_status 2 "bad size"
run aoi-bench -a mbv2-unet-s --threads 0
expect_status 2 "zero threads"
run aoi-bench -a mbv2-unet-s --format xml
expect_status 2 "unknown format"
expect_err "xml" "names the format"

run aoi-bench -a mbv2-cls-s $tiny -t 1 --layers --stages 4000
expect_status 1 "more stages than nodes"
expect_err "cannot cut" "says why"

run aoi-bench -a mbv2-unet-s --size 33x33 --runs 1 --peak-size 0 -t 1
expect_status 1 "a size the net cannot take"
expect_one_line_error aoi-bench "size the net cannot take"

# the kernel level: the CPU's best unless AOI_ISA caps it
run aoi-bench -a mbv2-unet-s $tiny -t 1
expect_status 0 "default kernels"
expect_out '"kernels":"(baseline|avx2|avx512)"' "names the kernels it ran"
run env AOI_ISA=baseline aoi-bench -a mbv2-unet-s $tiny -t 1 -f table
expect_status 0 "AOI_ISA=baseline"
expect_out 'kernels baseline$' "runs the baseline kernels"
run env AOI_ISA=sse9 aoi-bench -a mbv2-unet-s $tiny -t 1
expect_status 1 "an unknown AOI_ISA"
expect_one_line_error aoi-bench "AOI_ISA='sse9': expected baseline, avx2 or avx512"

done_testing

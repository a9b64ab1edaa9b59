# model.sh: aoi-model info, import, export and run on the ONNX files of
# testdata/onnx; ONNX files read directly by aoi-infer and aoi-bench; the
# error paths (one line naming the file, exit 1, no output left).
. "$AOI_TOP/tests/cli/lib.sh"

O="$TESTDATA/onnx"
D="$TESTDATA/train/train.jsonl"

# ---- info ----
run aoi-model info "$O/resnet18.onnx"
expect_status 0 "info of an ONNX file"
expect_out '"arch": "graph"' "an imported graph"
expect_out '"task": "classification"' "classification from an N x 10 output"
expect_out '"parameters": 176762' "its parameter count"
run aoi-model info --layers --format table "$O/segnet.onnx"
expect_status 0 "info --layers --format table"
expect_out '^task +segmentation' "segmentation from an output of the input's size"
expect_out 'maxunpool +encoder' "the unpool in the layer table"
expect_eq "$(grep -c ' conv ' "$T/out")" 8 "eight convolutions"

# ---- import, run, export ----
run aoi-model import --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 \
	--classes a,b,c,d,e,f,g,h,i,j -o "$T/mb.aoim" "$O/mobilenet_v2.onnx"
expect_status 0 "import"
run aoi-model info --format table "$T/mb.aoim"
expect_out 'mean 0.485,0.456,0.406, std 0.229,0.224,0.225' "the normalisation given"
expect_out 'classes +10: a b c' "the class names given"
expect_out '"onnx_opset":13' "provenance names the opset"

run aoi-model run -j 1 -o "$T/direct.f32" "$O/mobilenet_v2.onnx" "$O/mobilenet_v2.in.f32"
expect_status 0 "run an ONNX file"
expect_eq "$(wc -c <"$T/direct.f32")" 80 "2 x 10 outputs"
run aoi-model run -j 1 -o "$T/imported.f32" "$T/mb.aoim" "$O/mobilenet_v2.in.f32"
expect_true "the imported model gives the same bits" cmp "$T/direct.f32" "$T/imported.f32"

run aoi-model export -o "$T/mb.onnx" "$T/mb.aoim"
expect_status 0 "export"
run aoi-model run -j 1 -o "$T/again.f32" "$T/mb.onnx" "$O/mobilenet_v2.in.f32"
expect_true "exported and read again: the same bits" cmp "$T/direct.f32" "$T/again.f32"
run aoi-model info "$T/mb.onnx"
expect_out '"j"' "class names travel in the exported file"
expect_out '0.229' "so does the normalisation"
run aoi-model export --opset 11 -o "$T/seg11.onnx" "$O/segnet.onnx"
expect_status 0 "export at opset 11"

run aoi-model run -j 1 -o "$T/ext.f32" "$O/external.onnx" "$O/ops.out.f32"
expect_status 1 "run: an input of another size"
expect_one_line_error aoi-model "input of another size"
expect_true "no output after a failed run" test ! -e "$T/ext.f32"
run aoi-model info "$O/external.onnx"
expect_status 0 "weights in an external file next to the model"

# ---- the other programs read ONNX files ----
run aoi-infer -m "$O/mobilenet_v2.onnx" -j 1 "$D"
expect_status 0 "aoi-infer -m file.onnx"
expect_eq "$(grep -c '"pred":{"label":"[0-9]","probs":{' "$T/out")" 16 "a classification pred per record"
run aoi-infer -m "$O/segnet.onnx" --masks "$T/masks" -j 1 "$D"
expect_status 0 "aoi-infer with an imported SegNet"
expect_true "its masks" test -s "$T/masks/b00.png"
run aoi-bench -m "$O/mobilenet_v2.onnx" --runs 1 --warmup 0 --peak-size 0 -t 1
expect_status 0 "aoi-bench -m file.onnx"
expect_out "\"width\": *64" "at the file's input size"

# ---- training from ONNX files ----
run aoi-train --arch mbv2-unet --width 0.35 --init "$O/mobilenet_v2.onnx" --freeze encoder \
	--size 32x32 -e 1 -b 4 -j 1 --log /dev/null -o "$T/unet.aoim" "$D"
expect_status 0 "mbv2-unet from a torchvision MobileNetV2"
expect_err "^aoi-train: --init: 156 of 188 tensors from .*mobilenet_v2.onnx \(by structure: 52 layers\)" \
	"the encoder filled by structure, reported"
run aoi-train --init "$O/resnet18.onnx" --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 --size 32x32 \
	-e 1 -b 4 -j 1 --log /dev/null -o "$T/res.aoim" "$D"
expect_status 0 "an imported graph trained for its own classes, without --arch"
expect_err "^aoi-train: --init: 40 of 42 tensors" "all but the head (10 classes, now 2)"
run aoi-model info --format table "$T/res.aoim"
expect_out 'classes +2: defective good|classes +2: good defective' "the dataset's labels"
expect_out 'mean 0.5,0.5,0.5, std 0.25,0.25,0.25' "--mean and --std"
run aoi-train --init "$T/res.aoim" --freeze encoder --size 32x32 -e 1 -b 4 -j 1 --log /dev/null \
	-o "$T/res2.aoim" "$D"
expect_status 0 "a trained graph fine-tuned with its encoder frozen"
expect_err "^aoi-train: --init: 42 of 42 tensors" "by name from the same graph"

# an imported SegNet in a two-stage pipeline: the records of one process
aoi-infer -m "$O/segnet.onnx" -j 1 "$D" >"$T/one.jsonl" 2>"$T/err"
aoi-infer -m "$O/segnet.onnx" --stage 1/2 -j 1 "$D" |
	aoi-infer -m "$O/segnet.onnx" --stage 2/2 -j 1 >"$T/two.jsonl" 2>"$T/err"
status=$?
expect_status 0 "a 2-stage pipeline of an imported graph"
expect_true "records from one process" test -s "$T/one.jsonl"
expect_true "the same records as one process" cmp "$T/one.jsonl" "$T/two.jsonl"

# ---- errors ----
for bad in op dangling shape escape; do
	run aoi-model import -o "$T/bad.aoim" "$O/bad-$bad.onnx"
	expect_status 1 "bad-$bad.onnx refused"
	expect_one_line_error aoi-model "bad-$bad.onnx"
	expect_err "bad-$bad.onnx" "the message names the file"
	expect_true "nothing written for bad-$bad.onnx" test ! -e "$T/bad.aoim"
done
run aoi-model import -o "$T/bad.aoim" "$O/bad-op.onnx"
expect_err "unsupported operator 'Hardmax' \\(node 'hardmax_1'\\)" "the op type and the node"
run aoi-model import -o "$T/bad.aoim" "$O/bad-dangling.onnx"
expect_err "reads 'nowhere'" "the dangling input"
run aoi-model import -o "$T/bad.aoim" "$O/bad-shape.onnx"
expect_err "does not fit 3 input channels" "the shape that does not fit"
run aoi-model import -o "$T/bad.aoim" "$O/bad-escape.onnx"
expect_err "outside the model's folder" "external data out of the folder"

head -c 100000 "$O/mobilenet_v2.onnx" >"$T/trunc.onnx"
run aoi-model import -o "$T/bad.aoim" "$T/trunc.onnx"
expect_status 1 "a truncated ONNX file"
expect_one_line_error aoi-model "truncated"
expect_err "truncated or corrupt" "says so"
run aoi-infer -m "$T/trunc.onnx" "$D"
expect_status 1 "aoi-infer: a truncated ONNX file"
expect_one_line_error aoi-infer "aoi-infer truncated"
run aoi-model import -o "$T/bad.aoim" "$TESTDATA/train/b00.png"
expect_status 1 "a PNG is not an ONNX file"
expect_one_line_error aoi-model "foreign file"
run aoi-model info "$TESTDATA/train/b00.png"
expect_err "not an aoi model file nor an ONNX model \\(it is a PNG image\\)" "info: a foreign file"
expect_true "nothing written" test ! -e "$T/bad.aoim"

# ---- usage ----
run aoi-model import "$O/resnet18.onnx"
expect_status 2 "import needs -o"
run aoi-model info --opset 11 "$O/resnet18.onnx"
expect_status 2 "info takes no --opset"
run aoi-model frobnicate
expect_status 2 "unknown command"
run aoi-model import --mean 0.5,0.5 -o "$T/bad.aoim" "$O/resnet18.onnx"
expect_status 1 "two means for three channels"
expect_one_line_error aoi-model "--mean count"

# a decision head (a second output) is not exported
run aoi-train --arch mbv2-unet-xs --decision --size 32x32 --batch 4 -j 1 --max-steps 1 \
	--epochs 1 --log /dev/null -o "$T/dec.aoim" "$D"
expect_status 0 "train a decision head for a step"
run aoi-model export -o "$T/dec.onnx" "$T/dec.aoim"
expect_status 1 "export of a decision head"
expect_one_line_error aoi-model "export of a decision head"
expect_err 'decision head' "the message says why"
expect_true "no ONNX file left" test ! -e "$T/dec.onnx"

done_testing

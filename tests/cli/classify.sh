# classify.sh: aoi-classify on hand-made predictions (inline COCO RLE masks).
. "$AOI_TOP/tests/cli/lib.sh"

# 4x4 masks, column-major RLE: open at (1,0) (2,0) (3,0) is "4130000",
# short at (0,3) is "31<".
cat >"$T/pred.jsonl" <<'J'
{"id":"a","width":4,"height":4,"pred":{"classes":["open","short"],"masks":{"open":{"size":[4,4],"counts":"4130000"},"short":{"size":[4,4],"counts":"31<"}},"prob":0.95}}
{"id":"b","width":4,"height":4,"pred":{"masks":{},"prob":0.7},"note":"kept"}
J
printf '{"default": {"min_area": 2}}\n' >"$T/rules.json"

run aoi-classify --rules "$T/rules.json" "$T/pred.jsonl"
expect_status 0 "classify two records"
expect_eq "$(grep -c . "$T/out")" 2 "one line per record"
expect_out '^\{"id":"a".*"decision":"reject","reasons":\[\{"rule":"min_count","class":"open","value":1,"limit":1}\]\}$' \
	"a: the 3-pixel open counts (>= 2), the 1-pixel short does not"
expect_out '^\{"id":"b".*"note":"kept","decision":"accept","reasons":\[\]\}$' \
	"b: no defect, fields kept in place"
expect_err '1 accepted, 1 rejected' "summary on stderr"

# min_area 4: nothing counts; 4 defect pixels of 16 = 0.25 >= 0.25
printf '{"default": {"min_area": 4}, "defect_share": 0.25}\n' >"$T/share.json"
run aoi-classify -q -r "$T/share.json" <"$T/pred.jsonl"
expect_status 0 "share rule from stdin"
expect_out '"id":"a".*"reasons":\[\{"rule":"defect_share","class":null,"value":0\.25,"limit":0\.25\}\]' \
	"defect share at the threshold rejects (seed 001: >=)"
expect_eq "$(wc -c <"$T/err")" 0 "--quiet: nothing on stderr"

# minimum probability: b (0.7) is sent away, a (0.95) is not
printf '{"min_prob": 0.8}\n' >"$T/prob.json"
run aoi-classify -q -r "$T/prob.json" "$T/pred.jsonl"
expect_out '"id":"a".*"decision":"accept"' "prob 0.95 >= 0.8"
expect_out '"id":"b".*"reasons":\[\{"rule":"min_prob","class":null,"value":0\.7,"limit":0\.8\}\]' \
	"prob 0.7 < 0.8"

# regions: the open component's centroid is near (2, 0); renamed there
cat >"$T/regions.json" <<'J'
{
  "classes": ["open", "short"],
  "regions": {"top": {"box": [0, 0, 4, 2]}},
  "region_rules": [{"class": "open", "region": "top", "action": "rename", "as": "top-open"}],
  "limits": {"open": {"min_area": 1}, "top-open": {"min_area": 3, "min_count": 1}}
}
J
run aoi-classify -q -r "$T/regions.json" "$T/pred.jsonl"
expect_out '"id":"a".*"reasons":\[\{"rule":"min_count","class":"top-open"' "renamed by region"

# --output: whole file, and nothing on stdout
run aoi-classify -q -r "$T/rules.json" -o "$T/dec.jsonl" "$T/pred.jsonl"
expect_status 0 "--output"
expect_eq "$(grep -c decision "$T/dec.jsonl")" 2 "--output has both records"
expect_eq "$(wc -c <"$T/out")" 0 "--output: nothing on stdout"

# placement: the example rule file, nominal corners from the record
cat >"$T/place.jsonl" <<'J'
{"id":"ok","nominal":[[10,10],[50,10],[10,30],[50,30]],"pred":{"keypoints":[[12,11],[52,11],[12,31],[52,31]]}}
{"id":"far","nominal":[[10,10],[50,10],[10,30],[50,30]],"pred":{"keypoints":[[13,14],[53,14],[13,34],[53,34]]}}
J
run aoi-classify -q -r "$AOI_TOP/examples/rules/placement.json" "$T/place.jsonl"
expect_status 0 "placement rules"
expect_out '"id":"ok".*"decision":"accept"' "offset sqrt(5) within 3 px"
expect_out '"id":"far".*"reasons":\[\{"rule":"max_offset","class":null,"value":5(\.0)?,"limit":3(\.0)?\}\]' \
	"offset 5 beyond 3 px"

# image scores: a fixed limit and the model's own threshold ("> limit")
cat >"$T/scores.jsonl" <<'J'
{"id":"s1","pred":{"score":0.8,"threshold":0.9}}
{"id":"s2","pred":{"score":0.5,"threshold":0.4}}
J
printf '{"max_score": 0.5}\n' >"$T/max.json"
run aoi-classify -q -r "$T/max.json" "$T/scores.jsonl"
expect_status 0 "max_score"
expect_out '"id":"s1".*"reasons":\[\{"rule":"max_score","class":null,"value":0\.8,"limit":0\.5\}\]' \
	"score 0.8 > 0.5 rejects"
expect_out '"id":"s2".*"decision":"accept"' "score 0.5 at the limit passes"
printf '{"max_score": "model"}\n' >"$T/model.json"
run aoi-classify -q -r "$T/model.json" "$T/scores.jsonl"
expect_out '"id":"s1".*"decision":"accept"' "0.8 under the model's 0.9"
expect_out '"id":"s2".*"reasons":\[\{"rule":"max_score","class":null,"value":0\.5,"limit":0\.4\}\]' \
	"0.5 over the model's 0.4"
# a record without the score the rule needs: file and line, no output left
printf '{"id":"s1","pred":{"score":0.1}}\n{"id":"s3","pred":{"prob":0.9}}\n' >"$T/noscore.jsonl"
run aoi-classify -q -r "$T/max.json" -o "$T/noscore.out" "$T/noscore.jsonl"
expect_status 1 "no pred.score"
expect_one_line_error aoi-classify "no pred.score"
expect_err 'noscore.jsonl:2\): the rules set max_score but the record has no "pred" "score"' \
	"no pred.score: file and line"
expect_true "no pred.score: no output file" test ! -e "$T/noscore.out"
run aoi-classify -q -r "$T/model.json" "$T/noscore.jsonl"
expect_err 'noscore.jsonl:1\): .*"threshold"' "no pred.threshold for \"model\": file and line"
printf '{"max_score": "high"}\n' >"$T/badmax.json"
run aoi-classify -q -r "$T/badmax.json" "$T/scores.jsonl"
expect_err "badmax.json:1\\): 'max_score': must be a number or \"model\"" "max_score not a number"

# anomaly maps: 4x3 on scale 2, a region of 2 pixels at 1.6, one at 1.2
if command -v python3 >/dev/null 2>&1; then
	mkmap16 "$T/map.png" 4 3 0 52428 52428 0  0 0 0 0  39321 0 0 0
	printf '{"id":"m","pred":{"anomaly":{"map":"map.png","scale":2}}}\n' >"$T/map.jsonl"
	printf '{"anomaly": {"threshold": 1.0, "min_area": 2}}\n' >"$T/area.json"
	run aoi-classify -q -r "$T/area.json" "$T/map.jsonl"
	expect_status 0 "anomaly area"
	expect_out '"reasons":\[\{"rule":"anomaly_area","class":null,"value":2,"limit":2\}\]' \
		"the 2-pixel region above 1.0 rejects"
	printf '{"anomaly": {"threshold": 1.0, "min_area": 3}}\n' >"$T/area3.json"
	run aoi-classify -q -r "$T/area3.json" "$T/map.jsonl"
	expect_out '"decision":"accept"' "no region of 3 pixels"
	printf '{"id":"m","pred":{"anomaly":{"map":"gone.png","scale":2}}}\n' >"$T/nomap.jsonl"
	run aoi-classify -q -r "$T/area.json" "$T/nomap.jsonl"
	expect_status 1 "missing anomaly map"
	expect_err 'nomap.jsonl:1\): .*gone.png' "missing anomaly map: record line and PNG path"
	run aoi-classify -q -r "$T/area.json" "$T/scores.jsonl"
	expect_err 'scores.jsonl:1\): the rules judge the anomaly map but the record has no "pred" "anomaly"' \
		"no pred.anomaly: file and line"
else
	echo "skipped: anomaly maps (python3 writes them)"
fi

# every example rules file parses
for f in "$AOI_TOP"/examples/rules/*.json; do
	run aoi-classify -q -r "$f" </dev/null
	expect_status 0 "$(basename "$f") parses"
done

# errors: malformed rules (line and reason), unknown key path, missing file
printf '{\n  "default": {\n    "min_area": 2,\n  }\n}\n' >"$T/bad.json"
run aoi-classify -r "$T/bad.json" "$T/pred.jsonl"
expect_status 1 "malformed rules"
expect_one_line_error aoi-classify "malformed rules"
expect_err "bad.json:4\\): malformed JSON" "malformed rules: file and line"
expect_eq "$(wc -c <"$T/out")" 0 "malformed rules: no output"

printf '{\n  "limits": {\n    "open": {"min_aera": 2}\n  }\n}\n' >"$T/typo.json"
run aoi-classify -r "$T/typo.json" "$T/pred.jsonl"
expect_status 1 "unknown key"
expect_err "typo.json:3\\): 'limits.open.min_aera': unknown key" "unknown key: line and path"

printf '{"classes": ["open"],\n "limits": {"opem": {}}}\n' >"$T/cls.json"
run aoi-classify -r "$T/cls.json" "$T/pred.jsonl"
expect_status 1 "unknown class"
expect_err "cls.json:2\\): 'limits.opem': unknown class" "unknown class: line and path"

run aoi-classify -r "$T/nonexistent.json" "$T/pred.jsonl"
expect_status 1 "missing rules file"
expect_one_line_error aoi-classify "missing rules file"
expect_err "nonexistent.json" "missing rules file named"

run aoi-classify -r "$T/rules.json" "$T/nonexistent.jsonl"
expect_status 1 "missing input"
expect_err "nonexistent.jsonl" "missing input named"

printf '{"id":"a","pred":{}}\n{"id":"b",\n' >"$T/broken.jsonl"
run aoi-classify -q -r "$T/rules.json" "$T/broken.jsonl"
expect_status 1 "malformed JSON line"
expect_one_line_error aoi-classify "malformed JSON line"
expect_err "broken.jsonl:2\\)" "malformed JSON line: file and line"

printf '{"id":"a","pred":{}}\n{"id":"b"}\n' >"$T/nopred.jsonl"
run aoi-classify -q -r "$T/rules.json" "$T/nopred.jsonl"
expect_status 1 "record without pred"
expect_err "nopred.jsonl:2\\): no \"pred\"" "record without pred: file and line"

printf '{"id":"a","pred":{"mask":"none.png","classes":["open"]}}\n' >"$T/nomask.jsonl"
run aoi-classify -q -r "$T/rules.json" "$T/nomask.jsonl"
expect_status 1 "missing mask PNG"
expect_err "nomask.jsonl:1\\): .*none.png" "missing mask PNG: record line and PNG path"

printf '{"id":"a","pred":{"classes":["open"],"pixels":{"open":12}}}\n{"id":"b","pred":{"pixels":{"open":0}}}\n' >"$T/pixels.jsonl"
run aoi-classify -q -r "$T/rules.json" "$T/pixels.jsonl"
expect_status 1 "defect pixels without a mask"
expect_err "pixels.jsonl:1\\): .*no \"mask\" \\(run aoi-infer with --masks" "defect pixels without a mask: told what to do"
sed -n 2p "$T/pixels.jsonl" >"$T/nopixels.jsonl"
run aoi-classify -q -r "$T/rules.json" "$T/nopixels.jsonl"
expect_out '"decision":"accept"' "no defect pixels: no mask needed"

run aoi-classify "$T/pred.jsonl"
expect_status 2 "no --rules"

done_testing

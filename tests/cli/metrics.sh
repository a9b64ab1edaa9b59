# metrics.sh: aoi-metrics on a hand-made truth, predictions and two
# inspectors, every figure worked out here.
. "$AOI_TOP/tests/cli/lib.sh"

# Two 4x4 images (32 pixels). Column-major COCO RLE:
#   truth a: open at (0,0) (1,0) (2,0)          "0130004"
#   pred a:  open at (1,0) (2,0) (3,0)          "4130000"
#            short at (0,3)                     "31<"
#   b: empty truth (good), empty prediction; c: no prediction; z: no truth.
# Pixels: open TP 2 FP 1 FN 1 -> F1 4/6 = 0.666667, IoU 0.5
#         short TP 0 FP 1 FN 0 -> F1 0, IoU 0
#         good TP 27 FP 1 FN 2 -> F1 54/57 = 0.947368, IoU 0.9
#         pixel accuracy 29/32 = 0.90625, mean IoU 1.4/3 = 0.466667
cat >"$T/truth.jsonl" <<'J'
{"id":"a","width":4,"height":4,"label":"defective","classes":["open","short"],"masks":{"open":{"size":[4,4],"counts":"0130004"}},"keypoints":[[0,0],[10,0],[0,10],[10,10]]}
{"id":"b","width":4,"height":4,"label":"good","classes":["open","short"]}
{"id":"c","width":4,"height":4,"label":"good"}
J
cat >"$T/pred.jsonl" <<'J'
{"id":"a","pred":{"classes":["open","short"],"masks":{"open":{"size":[4,4],"counts":"4130000"},"short":{"size":[4,4],"counts":"31<"}},"label":"defective","keypoints":[[2,-1],[12,-1],[2,9],[12,9]]},"decision":"reject"}
{"id":"b","pred":{"masks":{}},"decision":"accept"}
{"id":"z","pred":{}}
J
# Truth decisions: a reject, b accept, c accept.
# Model: a reject, b accept -> 2 of 2. Alice: a accept, b accept, c reject
# -> 1 of 3. Bob: a reject, c accept -> 2 of 2. Human AG (1/3 + 1) / 2.
printf '{"id":"a","decision":"accept"}\n{"id":"b","decision":"accept"}\n{"id":"c","decision":"reject"}\n' >"$T/alice.jsonl"
printf '{"id":"a","decision":"reject"}\n{"id":"c","decision":"accept"}\n' >"$T/bob.jsonl"

run aoi-metrics --truth "$T/truth.jsonl" -f table "$T/pred.jsonl" "$T/alice.jsonl" "$T/bob.jsonl"
expect_status 0 "table"
expect_out '^Ids: 3 truth, 3 predicted, 2 matched, 1 missing, 1 extra$' "ids joined"
expect_err "warning: 1 id of .*truth.jsonl has no prediction \\(first: 'c'\\)" "missing id warned"
expect_err "warning: 1 record is not in .*truth.jsonl \\(first: 'z'\\)" "extra id warned"
expect_out '^  good +27 +1 +2 +0\.9474 +0\.9000$' "good pixels (F1 54/57)"
expect_out '^  open +2 +1 +1 +0\.6667 +0\.5000$' "open pixels (F1 4/6)"
expect_out '^  short +0 +1 +0 +0\.0000 +0\.0000$' "short pixels"
expect_out 'mean IoU 0\.4667 \(defect classes 0\.2500\), pixel accuracy 0\.9062' "mIoU, pixel accuracy"
expect_out 'model +2 of +2  AG 1\.0000  .*pred\.jsonl$' "model AG"
expect_out 'inspector +1 of +3  AG 0\.3333  .*alice\.jsonl$' "alice AG"
expect_out 'inspector +2 of +2  AG 1\.0000  .*bob\.jsonl$' "bob AG"
expect_out 'human AG \(mean of inspectors\) 0\.6667' "human AG"
# keypoints of a: shifted (2, -1): centre MAE (2 + 1) / 2, distance sqrt 5
expect_out 'centre MAE 1\.5000 px, centre distance 2\.2361 px, rotation MAE 0\.0000 deg' "keypoints"
# boxes from components: truth open [0,0,3,1]; pred open [1,0,4,1] (IoU
# 2/4 > 0.33: TP) and short [0,3,1,4] (FP): precision 1/2, recall 1, F 2/3
expect_out 'precision 0\.5000, recall 1\.0000, F-score 0\.6667, mAP 1\.0000' "detection"

run aoi-metrics --truth "$T/truth.jsonl" "$T/pred.jsonl"
expect_status 0 "json"
tr -d ' \n' <"$T/out" >"$T/flat"
flat() { cases=$((cases + 1)); grep -q -- "$1" "$T/flat" || fail "json: $2: no $1"; }
flat '"missing":1,"extra":1,"missing_ids":\["c"\],"extra_ids":\["z"\]' "ids"
flat '"open":{"tp":2,"fp":1,"fn":1,"f1":0.666667,"iou":0.5}' "open"
flat '"good":{"tp":27,"fp":1,"fn":2,"f1":0.947368,"iou":0.9}' "good"
flat '"miou":0.466667,"miou_defects":0.25,"pixel_accuracy":0.90625' "summary"
flat '"confusion":\[\[1,0\],\[0,1\]\]' "image confusion"
flat '"fscore":0.666667,"ap":{"open":1.0},"map":1.0' "detection"

# the empty-image rule: only b (good, nothing predicted) -> every F1 is 1
head -n 2 "$T/truth.jsonl" | tail -n 1 >"$T/truth-b.jsonl"
sed -n 2p "$T/pred.jsonl" >"$T/pred-b.jsonl"
run aoi-metrics -t "$T/truth-b.jsonl" -f table "$T/pred-b.jsonl"
expect_out '^  open +0 +0 +0 +1\.0000 +1\.0000$' "absent and not predicted: F1 1"
expect_out '^  good +16 +0 +0 +1\.0000 +1\.0000$' "good pixels of the empty image"

# the pipeline: aoi-classify's decisions are what the model's AG judges.
# With min_area 4 nothing in a counts, so the model accepts a defective
# image: 1 of 2.
printf '{"default": {"min_area": 4}}\n' >"$T/rules.json"
aoi-classify -q -r "$T/rules.json" "$T/pred.jsonl" >"$T/decisions.jsonl"
run aoi-metrics -t "$T/truth.jsonl" -f table "$T/decisions.jsonl"
expect_status 0 "decisions of aoi-classify"
expect_out 'model +1 of +2  AG 0\.5000' "AG of the classified decisions"

# charts
run aoi-metrics -t "$T/truth.jsonl" -p "$T/plots" "$T/pred.jsonl" "$T/alice.jsonl"
expect_status 0 "--plot"
for f in confusion pixels classes pr; do
	cases=$((cases + 1))
	[ "$(head -c 4 "$T/plots/$f.png" | tail -c 3)" = PNG ] || fail "--plot: no $f.png"
done
printf '{"epoch":1,"loss":1.0,"val_loss":1.2,"val_miou":0.3,"miou":0.35}\n{"event":"start"}\n{"epoch":2,"loss":0.5,"val_loss":0.7,"val_miou":0.5,"miou":0.6}\n' >"$T/train.log"
run aoi-metrics --log "$T/train.log" --plot "$T/curves"
expect_status 0 "--log alone"
cases=$((cases + 2))
[ -s "$T/curves/loss.png" ] || fail "--log: no loss.png"
[ -s "$T/curves/metric-miou.png" ] || fail "--log: no metric-miou.png"

# masks of different sizes in one dataset (4x4 and 6x3, column-major RLE):
# a: truth open (0,0) (1,0) (2,0), pred (1,0) (2,0) (3,0); d: truth
# (0,0) (0,1) (0,2), pred (0,1) (0,2) (2,5); e: good, nothing predicted.
#   open TP 2 + 2, FP 1 + 1, FN 1 + 1 -> IoU 4/8; good 52 - 8 pixels
cat >"$T/sizes.jsonl" <<'J'
{"id":"a","width":4,"height":4,"label":"defective","classes":["open"],"masks":{"open":{"size":[4,4],"counts":"0130004"}}}
{"id":"d","width":6,"height":3,"label":"defective","classes":["open"],"masks":{"open":{"size":[3,6],"counts":"0120009"}}}
{"id":"e","width":6,"height":3,"label":"good"}
J
cat >"$T/sizes-pred.jsonl" <<'J'
{"id":"a","pred":{"classes":["open"],"masks":{"open":{"size":[4,4],"counts":"4130000"}}}}
{"id":"d","pred":{"classes":["open"],"masks":{"open":{"size":[3,6],"counts":"312080"}}}}
{"id":"e","pred":{"masks":{}}}
J
run aoi-metrics -t "$T/sizes.jsonl" -f table "$T/sizes-pred.jsonl"
expect_status 0 "images of different sizes"
expect_out '^  open +4 +2 +2 +0\.6667 +0\.5000$' "open pixels over 4x4 and 6x3 images"
expect_out '^  good +44 +2 +2 +0\.9565 +0\.9167$' "good pixels over 4x4 and 6x3 images"

# image scores (test_roc's case): 0.9 P, 0.8 N, 0.8 P, 0.5 N, 0.5 N, 0.3 P,
# 0.1 N. AUROC 17/24, AP 13/18; best F1 2/3 above 0.65 (false rejects
# 1/4); every defect caught above 0.2, 3 of 4 good images rejected.
# Defective by label, boxes or decision; good by label, empty masks or
# decision; u has no truth at all.
cat >"$T/st.jsonl" <<'J'
{"id":"p1","label":"defective"}
{"id":"n1","label":"good"}
{"id":"p2","width":4,"height":4,"boxes":[[0,0,2,2,"open"]]}
{"id":"n2","width":4,"height":4,"masks":{}}
{"id":"n3","decision":"accept"}
{"id":"p3","decision":"reject"}
{"id":"n4","label":"good","decision":"accept"}
{"id":"u"}
J
cat >"$T/sp.jsonl" <<'J'
{"id":"p1","pred":{"score":0.9}}
{"id":"n1","pred":{"score":0.8}}
{"id":"p2","pred":{"score":0.8}}
{"id":"n2","pred":{"score":0.5}}
{"id":"n3","pred":{"score":0.5}}
{"id":"p3","pred":{"score":0.3}}
{"id":"n4","pred":{"score":0.1}}
{"id":"u","pred":{"score":0.7}}
J
run aoi-metrics -t "$T/st.jsonl" "$T/sp.jsonl"
expect_status 0 "image scores"
tr -d ' \n' <"$T/out" >"$T/flat"
flat '"image_scores":{"images":7,"defective":3,"good":4,"no_truth":1,"sources":{"score":7}' "scored images"
flat '"auroc":0.708333,"ap":0.722222' "AUROC and AP with ties"
flat '"best_f1":{"threshold":0.65,"f1":0.666667,"precision":0.666667,"recall":0.666667,"false_reject_rate":0.25}' "best F1"
flat '"at_recall":{"threshold":0.2,"f1":0.666667,"precision":0.5,"recall":1.0,"false_reject_rate":0.75,"recall_wanted":1.0}' "false rejects at recall 1"
run aoi-metrics -t "$T/st.jsonl" -f table -p "$T/scoreplots" "$T/sp.jsonl"
expect_out '^Image scores \(7 images: 3 defective, 4 good; by pred\.score 7\)$' "table: image scores"
expect_out '^  AUROC 0\.7083, AP 0\.7222$' "table: AUROC and AP"
for f in image-roc image-pr; do
	cases=$((cases + 1))
	[ "$(head -c 4 "$T/scoreplots/$f.png" | tail -c 3)" = PNG ] || fail "--plot: no $f.png"
done
# without pred.score: the highest defect probability, else the best box
printf '{"id":"p1","pred":{"defect_prob":0.6}}\n{"id":"n1","pred":{"boxes":[]}}\n' >"$T/fallback.jsonl"
run aoi-metrics -t "$T/st.jsonl" "$T/fallback.jsonl"
tr -d ' \n' <"$T/out" >"$T/flat"
flat '"sources":{"defect_prob":1,"boxes":1},"auroc":1.0' "fallback scores"
printf '{"id":"p1","pred":{"score":"high"}}\n' >"$T/badscore.jsonl"
run aoi-metrics -t "$T/st.jsonl" "$T/badscore.jsonl"
expect_status 1 "score not a number"
expect_err "badscore.jsonl:1\\): id 'p1': \"pred\" \"score\" must be a number" "bad score: file, line, id"

# anomaly maps (test_roc's case): 4x4 on scale 65535 (a pixel's score is
# its value); truth regions (0,0)-(1,0) scoring 5 and 2, (3,3) scoring 4;
# good pixels 6, 3 and 11 zeros; g, a good image, all 0 (16 more good
# pixels); x, defective without masks, is skipped.
#   PRO up to 0.3: (3/4 x 1/29 + 1 x (0.3 - 2/29)) / 0.3 = 0.856322
#   pixel AUROC: (28 + 28 + 27) / 87 = 0.954023
if command -v python3 >/dev/null 2>&1; then
	mkmap16 "$T/ma.png" 4 4 5 2 0 6  0 0 0 0  3 0 0 0  0 0 0 4
	mkmap16 "$T/mg.png" 4 4 0 0 0 0  0 0 0 0  0 0 0 0  0 0 0 0
	cat >"$T/at.jsonl" <<'J'
{"id":"a","width":4,"height":4,"label":"defective","masks":{"open":{"size":[4,4],"counts":"013070"}}}
{"id":"g","width":4,"height":4,"label":"good"}
{"id":"x","width":4,"height":4,"label":"defective"}
J
	cat >"$T/ap.jsonl" <<'J'
{"id":"a","pred":{"score":6,"anomaly":{"map":"ma.png","scale":65535}}}
{"id":"g","pred":{"score":0,"anomaly":{"map":"mg.png","scale":65535}}}
{"id":"x","pred":{"score":1,"anomaly":{"map":"mg.png","scale":65535}}}
J
	run aoi-metrics -t "$T/at.jsonl" -p "$T/mapplots" "$T/ap.jsonl"
	expect_status 0 "anomaly maps"
	tr -d ' \n' <"$T/out" >"$T/flat"
	flat '"pixels":{"images":2,"skipped":1,"regions":2,"defect_pixels":3,"good_pixels":29,"auroc":0.954023,"pro":0.856322,"pro_max_fpr":0.3}' "pixel AUROC and PRO"
	for f in pixel-roc pro; do
		cases=$((cases + 1))
		[ "$(head -c 4 "$T/mapplots/$f.png" | tail -c 3)" = PNG ] || fail "--plot: no $f.png"
	done
	mkmap16 "$T/m3.png" 3 3 0 0 0 0 0 0 0 0 0
	printf '{"id":"a","pred":{"anomaly":{"map":"m3.png","scale":1}}}\n' >"$T/ap3.jsonl"
	run aoi-metrics -t "$T/at.jsonl" "$T/ap3.jsonl"
	expect_status 1 "map of another size"
	expect_one_line_error aoi-metrics "map of another size"
	expect_err "ap3.jsonl:1\\): id 'a': anomaly map is 3x3 but the truth mask is 4x4" "map size: file, line, id"
	printf '{"id":"a","pred":{"anomaly":{"map":"m3.png"}}}\n' >"$T/noscale.jsonl"
	run aoi-metrics -t "$T/at.jsonl" "$T/noscale.jsonl"
	expect_status 1 "map without a scale"
	expect_err "noscale.jsonl:1\\): id 'a': .*\"scale\"" "map without a scale: file, line"
else
	echo "skipped: anomaly maps (python3 writes them)"
fi

# a dataset labelled ok and ng (issue: every label but the literal "good"
# was pooled as defective, F1 1.0 at accuracy 0.25). Truth ok ok ng ng,
# predicted ng ng ok ng: with --good ok, defective = ng: TP 1 (d), FP 2,
# FN 1 -> precision 1/3, recall 1/2, F1 0.4. Scores 1 - P(ok): 0.6, 0.7
# (good) against 0.2, 0.9 (defective): AUROC 1/2.
cat >"$T/okng.jsonl" <<'J'
{"id":"a","label":"ok"}
{"id":"b","label":"ok"}
{"id":"c","label":"ng"}
{"id":"d","label":"ng"}
J
cat >"$T/okng-pred.jsonl" <<'J'
{"id":"a","pred":{"label":"ng","probs":{"ok":0.4,"ng":0.6}}}
{"id":"b","pred":{"label":"ng","probs":{"ok":0.3,"ng":0.7}}}
{"id":"c","pred":{"label":"ok","probs":{"ok":0.8,"ng":0.2}}}
{"id":"d","pred":{"label":"ng","probs":{"ok":0.1,"ng":0.9}}}
J
run aoi-metrics -t "$T/okng.jsonl" "$T/okng-pred.jsonl"
expect_status 0 "ok/ng without --good"
tr -d ' \n' <"$T/out" >"$T/flat"
flat '"accuracy":0.25,"precision":null,"recall":null,"f1":null' "no good label: pooled figures undefined"
run aoi-metrics -t "$T/okng.jsonl" -f table "$T/okng-pred.jsonl"
expect_out "no image is labelled 'good': name the good label with --good" "no good label: told what to do"
run aoi-metrics -t "$T/okng.jsonl" --good ok "$T/okng-pred.jsonl"
expect_status 0 "--good ok"
tr -d ' \n' <"$T/out" >"$T/flat"
flat '"good":"ok",.*"accuracy":0.25,"precision":0.333333,"recall":0.5,"f1":0.4' "--good ok: defective is ng"
flat '"image_scores":{"images":4,"defective":2,"good":2,"no_truth":0,"sources":{"probs":4},"auroc":0.5' "--good ok: scores 1 - P(ok)"
run aoi-metrics -t "$T/okng.jsonl" --recall 0 "$T/okng-pred.jsonl"
expect_status 2 "--recall 0"
run aoi-metrics -t "$T/okng.jsonl" --max-fpr 1.5 "$T/okng-pred.jsonl"
expect_status 2 "--max-fpr above 1"

# errors
run aoi-metrics -t "$T/truth.jsonl" "$T/nonexistent.jsonl"
expect_status 1 "missing predictions"
expect_one_line_error aoi-metrics "missing predictions"
expect_err "nonexistent.jsonl" "missing file named"

printf '{"id":"a","pred":{}}\n{"id":"b" "pred"}\n' >"$T/broken.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/broken.jsonl"
expect_status 1 "malformed JSON line"
expect_one_line_error aoi-metrics "malformed JSON line"
expect_err "broken.jsonl:2\\): malformed JSON" "malformed JSON line: file and line"

printf '{"id":"a","pred":{"masks":{"open":{"size":[2,2],"counts":"13"}}}}\n' >"$T/small.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/small.jsonl"
expect_status 1 "masks of different sizes"
expect_err "small.jsonl:1\\): id 'a': .*2x2" "size mismatch names the id"

printf '{"id":"a","pred":{}}\n{"id":"a","pred":{}}\n' >"$T/dup.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/dup.jsonl"
expect_status 1 "duplicate id"
expect_err "dup.jsonl:2\\): duplicate id 'a'" "duplicate id: file and line"

printf '{"id":"a","decision":"maybe"}\n' >"$T/maybe.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/pred.jsonl" "$T/maybe.jsonl"
expect_status 1 "bad inspector decision"
expect_err "maybe.jsonl:1\\)" "bad inspector decision: file and line"

printf '{"id":"a","decision":"accept"}\n{"id":"a","decision":"reject"}\n' >"$T/twice.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/pred.jsonl" "$T/twice.jsonl"
expect_status 1 "inspector deciding twice"
expect_err "twice.jsonl:2\\): duplicate id 'a'" "inspector duplicate: file and line"

printf '{"pred":{}}\n' >"$T/noid.jsonl"
run aoi-metrics -t "$T/truth.jsonl" "$T/noid.jsonl"
expect_status 1 "record without id"
expect_err "noid.jsonl:1\\): missing \"id\"" "record without id: file and line"

run aoi-metrics "$T/pred.jsonl"
expect_status 2 "no --truth"
run aoi-metrics -t "$T/truth.jsonl" -f xml "$T/pred.jsonl"
expect_status 2 "bad --format"
run aoi-metrics -t "$T/truth.jsonl" --log "$T/train.log" "$T/pred.jsonl"
expect_status 2 "--log without --plot"
run aoi-metrics -t "$T/truth.jsonl" --iou 1.5 "$T/pred.jsonl"
expect_status 2 "--iou out of range"

done_testing

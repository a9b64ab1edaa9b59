# report.sh: aoi-datatool report (the files of the site, made once and
# reused), merge (corrections folded in; bad files refused at FILE:LINE with
# nothing merged) and sample --review. The page itself: report_browser.sh.
. "$AOI_TOP/tests/cli/lib.sh"
P=aoi-datatool

if ! command -v python3 >/dev/null 2>&1; then
	echo "skipped: python3 is needed to read the results"
	done_testing
	exit
fi
cd "$T" || exit 1
. "$AOI_TOP/tests/cli/report_data.inc"
make_dataset

# data.js as JSON
cat >dataq.py <<'PY'
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text[text.index("=") + 1:].rstrip().rstrip(";"))
it = {x["id"]: x for x in d["items"]}
print(eval(sys.argv[2]))
PY
dq() { python3 dataq.py site/data.js "$1"; }
count() { find "$1" -type f | wc -l | tr -d ' '; }

# ---- report ----
run $P report --out site ds.jsonl
expect_status 0 "report"
expect_out '"records":6,"truth":5,"made":6,"reused":0' "report summary"
for f in index.html report.css report.js data.js; do
	expect_true "site has $f" test -s "site/$f"
done
expect_eq "$(count site/thumbs) $(count site/full) $(count site/masks) $(count site/heat)" \
	"6 6 6 2" "one thumbnail, image and mask script a record, two heatmaps"
expect_true "charts of the metrics" test -s site/charts/confusion.png
expect_true "no temporary truth left" test ! -e site/.truth.jsonl
expect_eq "$(dq '[it[k].get("dec") for k in sorted(it)]')" \
	"['reject', 'accept', 'reject', 'accept', 'reject', 'accept']" "model decisions"
expect_eq "$(dq '[it[k].get("agree") for k in sorted(it)]')" \
	"[True, True, False, False, True, None]" "agreement with the records' own truth"
expect_eq "$(dq 'it["r0"]["tarea"], it["r0"]["area"], d["classes"], it["r0"]["cls"]')" \
	"(400, 288, ['scratch', 'blob', 'spot'], [1])" "areas of truth and predicted boxes, classes"
expect_eq "$(dq 'round(it["r2"]["dis"], 3), it["r2"]["score"], it["r2"]["split"]')" \
	"(1.0, 0.55, 'val')" "disagreement, score, split"
expect_eq "$(dq 'd["metrics"]["classification"]["accuracy"], d["metrics"]["ids"]["matched"]')" \
	"(0.6, 6)" "metrics: 3 of the 5 labelled images right"
expect_eq "$(dq 'sorted(k for k in it if "heat" in it[k])')" "['r4', 'r5']" "heatmaps"
expect_eq "$(head -c 9 site/masks/$(ls site/masks | head -n 1))" "AOI_MASK(" "masks as scripts"

# again: everything found made; a record dropped: its files go
run $P report --out site ds.jsonl
expect_out '"made":0,"reused":6' "second run reuses every record's files"
grep -v '"r5"' ds.jsonl >ds5.jsonl
run $P report --out site ds5.jsonl
expect_out '"made":0,"reused":5' "the others still reused"
expect_eq "$(count site/thumbs) $(count site/heat)" "5 1" "files of the dropped record removed"
: >site/thumbs/notes.txt
run $P report --out site ds5.jsonl
expect_true "a file the report did not make is left alone" test -e site/thumbs/notes.txt

# a separate truth: r1 is really defective
sed -e 's/"id":"r1"\([^{]*\)"label":"good"/"id":"r1"\1"label":"defective"/' -e 's/,"pred".*}$/}/' ds.jsonl >truth.jsonl
run $P report --out site2 --truth truth.jsonl --title "Line 4" --thumb 64 ds.jsonl
expect_status 0 "report --truth"
expect_eq "$(python3 dataq.py site2/data.js 'it["r1"]["agree"], it["r1"]["th"], d["title"], d["truth"]')" \
	"(False, 64, 'Line 4', 'truth.jsonl')" "truth from the file, thumbnail height, title"

# ---- report errors ----
run $P report ds.jsonl
expect_status 2 "report without --out"
run $P report --out x - <ds.jsonl
expect_status 2 "report of standard input"
{ head -n 1 ds.jsonl; sed -n 2p ds.jsonl | sed 's/texture-000001/missing/'; } >bad.jsonl
run $P report --out site3 bad.jsonl
expect_status 1 "report of a record whose image is missing"
expect_one_line_error $P "missing image"
expect_err 'bad.jsonl:2' "missing image located"
expect_true "no page written" test ! -e site3/index.html
{ head -n 1 ds.jsonl; head -n 1 ds.jsonl; } >dup.jsonl
run $P report --out site3 dup.jsonl
expect_status 1 "report of a dataset with a repeated id"
expect_err 'dup.jsonl:2.*appears twice' "repeated id located"

# ---- merge ----
box=$(python3 -c 'import sys; sys.path.insert(0, "."); from rle import encode
print(encode({(x, y) for x in range(20, 30) for y in range(40, 50)}, 96, 96))')
empty=$(python3 -c 'import sys; sys.path.insert(0, "."); from rle import encode; print(encode(set(), 96, 96))')
cr() { # cr ID VERDICT EXTRA: one correction line
	printf '{"id":"%s","verdict":"%s"%s,"reviewer":"ana","time":"2026-11-22T10:31:02Z"}\n' "$1" "$2" "$3"
}
{
	cr r1 reject ',"class":"blob","mask":{"size":[96,96],"counts":"'"$box"'"}'
	cr r2 accept ',"class":null,"mask":{"size":[96,96],"counts":"'"$empty"'"}'
	cr r5 reject ''
} >corr.jsonl
run $P merge --corrections corr.jsonl ds.jsonl
expect_status 0 "merge"
cp "$T/out" merged.jsonl
expect_eq "$(q merged.jsonl 'len(r), [x["id"] for x in r if "review" in x]')" "(6, ['r1', 'r2', 'r5'])" \
	"every record out, three reviewed"
expect_eq "$(q merged.jsonl 'r[1]["label"], r[1]["decision"], sorted(r[1]["masks"]), len(decode(r[1]["masks"]["blob"]["counts"], 96, 96))')" \
	"('defective', 'reject', ['blob'], 100)" "r1 becomes defective with the painted mask"
expect_eq "$(q merged.jsonl 'r[2]["label"], "masks" in r[2], "boxes" in r[2], r[2]["review"]["model_decision"]')" \
	"('good', False, False, 'reject')" "r2 accepted with an empty mask"
expect_eq "$(q merged.jsonl 'r[5]["label"], r[5]["review"]["reviewer"], "reasons" in r[0]')" \
	"('defective', 'ana', True)" "r5 rejected without a mask; r0 untouched"
run $P merge --corrections corr.jsonl --reviewed-only ds.jsonl
expect_eq "$(grep -c . "$T/out")" "3" "--reviewed-only"
run $P validate merged.jsonl
expect_status 0 "the merged dataset validates"

check_refused() { # check_refused LINE PATTERN DESCRIPTION (corrections in bad.jsonl)
	run $P merge --corrections badc.jsonl ds.jsonl
	expect_status 1 "$3"
	expect_one_line_error $P "$3"
	expect_err "badc.jsonl:$1.*$2" "$3: located"
	expect_eq "$(wc -c <"$T/out" | tr -d ' ')" "0" "$3: nothing merged"
}
{ head -n 1 corr.jsonl; cr zz accept ''; } >badc.jsonl
check_refused 2 "id 'zz' is not in" "an unknown id"
cr r1 reject ',"class":"blob","mask":{"size":[48,96],"counts":"'"$empty"'"}' >badc.jsonl
check_refused 1 "mask is 48x96" "a mask of the wrong size"
{ head -n 2 corr.jsonl; echo '{"id":"r3","verdict":'; } >badc.jsonl
check_refused 3 "" "a malformed line"
{ cr r1 maybe ''; } >badc.jsonl
check_refused 1 "verdict" "a bad verdict"
{ head -n 1 corr.jsonl; head -n 1 corr.jsonl; } >badc.jsonl
check_refused 2 "corrected already at line 1" "a record corrected twice"
run $P merge ds.jsonl
expect_status 2 "merge without --corrections"

# ---- sample --review ----
run $P sample --review 2 --random 0 ds.jsonl
expect_status 0 "sample --review"
cp "$T/out" s.jsonl
expect_eq "$(q s.jsonl '[(x["id"], x["sampled"]) for x in r]')" \
	"[('r2', 'uncertain'), ('r3', 'uncertain')]" "the two scores nearest the threshold"
run $P sample --review 4 --random 0.5 --seed 3 ds.jsonl
cp "$T/out" s.jsonl
expect_eq "$(q s.jsonl 'sorted(x["sampled"] for x in r), [x["id"] for x in r if x["sampled"] == "uncertain"]')" \
	"(['random', 'random', 'uncertain', 'uncertain'], ['r2', 'r3'])" "half of them at random"
run $P sample --review 4 --random 0.5 --seed 3 ds.jsonl
expect_eq "$(cat "$T/out")" "$(cat s.jsonl)" "the same seed, the same sample"
run $P sample --review 1 --by prob ds.jsonl
expect_status 1 "sample --by prob without probabilities"
expect_err 'ds.jsonl:1.*pred.probs' "located at the first record"
run $P sample --review 1 -n 2 ds.jsonl
expect_status 2 "--review and -n together"
run $P sample -n 2 --by score ds.jsonl
expect_status 2 "--by without --review"

done_testing

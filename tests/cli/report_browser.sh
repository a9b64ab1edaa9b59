# report_browser.sh: the report's page in a real headless browser
# (Debian's chromium driven by playwright-core, tests/browser/report.cjs):
# filter, open a record, paint, reject, export; then aoi-datatool merge
# folds the exported correction in and the merged mask is checked here.
# Without a browser (or one that does not start) it says SKIPPED and how
# to install one.
. "$AOI_TOP/tests/cli/lib.sh"
P=aoi-datatool
PEERS=${AOI_PEERS:-$HOME/.cache/aoi-peers}
CHROMIUM=${AOI_CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null 2>&1 ||
	[ ! -d "$PEERS/node_modules/playwright-core" ] || ! command -v python3 >/dev/null 2>&1; then
	echo "SKIPPED: no headless browser (chromium, node and playwright-core in $PEERS);" \
		"install them as root with: sh scripts/deps.sh install all"
	done_testing
	exit
fi
cd "$T" || exit 1
. "$AOI_TOP/tests/cli/report_data.inc"
make_dataset

run $P report --out site ds.jsonl
expect_status 0 "report"
run node "$AOI_TOP/tests/browser/report.cjs" site corrections.jsonl
if [ "$status" -eq 77 ]; then
	echo "$(grep SKIPPED "$T/out");" \
		"install a browser as root with: sh scripts/deps.sh install all"
	done_testing
	exit
fi
expect_status 0 "the page, driven by the browser"
grep -q . "$T/err" && sed 's/^/  /' "$T/err"

run $P merge --corrections corrections.jsonl ds.jsonl
expect_status 0 "merge the exported corrections"
cp "$T/out" merged.jsonl
expect_eq "$(q corrections.jsonl 'r[0]["id"], r[0]["verdict"], r[0]["class"], r[0]["reviewer"], sorted(r[0])')" \
	"('r0', 'reject', 'scratch', 'tester', ['class', 'id', 'mask', 'reviewer', 'time', 'verdict'])" \
	"the exported line"
# r0's mask: its truth box [10,30)x[10,30) (the brush started from the
# truth) and a stroke 8 pixels wide from (60.5, 80.5) to (80.5, 80.5)
cat >mask.py <<'PY'
import json, sys
sys.path.insert(0, ".")
from rle import decode
r0 = [json.loads(l) for l in open("merged.jsonl")][0]
px = decode(r0["masks"]["scratch"]["counts"], 96, 96)
box = {(x, y) for x in range(10, 30) for y in range(10, 30)}
stroke = px - box
line = all((x, 80) in px for x in range(61, 80))
inside = all(60.5 - 4.6 <= x + .5 <= 80.5 + 4.6 and abs(y + .5 - 80.5) <= 4.6 for x, y in stroke)
print(sorted(r0["masks"]), r0["label"], r0["decision"], box <= px, line, inside,
      180 <= len(stroke) <= 240)
PY
expect_eq "$(python3 mask.py)" "['scratch'] defective reject True True True True" \
	"merged: the truth box and the painted stroke, nothing else"

done_testing

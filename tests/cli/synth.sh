# synth.sh: aoi-synth from the command line: every subcommand runs, the
# same seed gives byte-identical files and records (whatever the thread
# count), and bad input gives one line naming the file and exit 1.
. "$AOI_TOP/tests/cli/lib.sh"
cd "$T" || exit 1

# ---- usage errors: exit 2 ----
run aoi-synth
expect_status 2 "no subcommand"
run aoi-synth frobnicate
expect_status 2 "unknown subcommand"
expect_err "unknown subcommand 'frobnicate'" "unknown subcommand named"
run aoi-synth place -n 2
expect_status 2 "place without sources"
run aoi-synth place --sources x.jsonl --classes 3
expect_status 2 "a texture option on place"
expect_err "--classes does not apply to place" "misplaced option named"
run aoi-synth texture --size 10
expect_status 2 "bad --size"
run aoi-synth texture --classes 11
expect_status 2 "--classes out of range"
run aoi-synth place --draw-sources 2 --tolerance x
expect_status 2 "bad --tolerance"
run aoi-synth augment --augment rot=abc in.jsonl
expect_status 2 "bad --augment spec"
run aoi-synth board stray
expect_status 2 "stray argument"

# ---- board, then place from its photos ----
run aoi-synth board -n 4 --size 128x128 --out src
expect_status 0 "board"
cp "$T/out" boards.jsonl
expect_eq "$(grep -c . boards.jsonl)" 4 "board: 4 records"
expect_eq "$(ls src | wc -l | tr -d ' ')" 4 "board: 4 images"
expect_out '"keypoints":\[\[[0-9.]+,[0-9.]+\],\[[0-9.]+,[0-9.]+\],\[[0-9.]+,[0-9.]+\],\[[0-9.]+,[0-9.]+\]\]' "board: four corners"
expect_out '"masks":\{"component":\{"size":\[128,128\]' "board: component mask"

run aoi-synth place --sources boards.jsonl -n 12 --holdout 1 --shift 10 --rotate 8 --tolerance 3,2 --out p1
expect_status 0 "place"
cp "$T/out" p1.jsonl
expect_eq "$(grep -c . p1.jsonl)" 12 "place: 12 records"
expect_eq "$(grep -c '"split":"test"' p1.jsonl)" 3 "place: the held-out source gives 3 test images"
expect_eq "$(grep '"split":"test"' p1.jsonl | grep -vc '"source":"board-003"')" 0 "place: test images come from the held-out source only"
expect_out '"shift":\[-?[0-9.]+,-?[0-9.]+\],"angle":-?[0-9.]+' "place: shift and angle"
expect_out '"template":"src/board_00[0-3].png"' "place: template is the source photo"
expect_out '"image":"p1/place_000000.png"' "place: image named from the working directory"

# the same seed, byte for byte, with 1 and 3 threads
mv p1 p1a && mv p1.jsonl p1a.jsonl
OMP_NUM_THREADS=1 aoi-synth place --sources boards.jsonl -n 12 --holdout 1 --shift 10 --rotate 8 --tolerance 3,2 --out p1 >p1.jsonl 2>/dev/null
expect_true "place: same records with 1 thread" cmp p1.jsonl p1a.jsonl
same=1
for f in p1a/*.png; do cmp -s "$f" "p1/$(basename "$f")" || same=0; done
expect_eq "$same" 1 "place: same image bytes with 1 thread"
OMP_NUM_THREADS=3 aoi-synth place --sources boards.jsonl -n 12 --holdout 1 --seed 2 --out p2 >p2.jsonl 2>/dev/null
expect_eq "$(cmp -s p1/place_000000.png p2/place_000000.png && echo same || echo differs)" differs "place: another seed, other images"

run aoi-synth place --sources boards.jsonl -n 8 --holdout-ids board-001,board-002 --out p3
expect_status 0 "place --holdout-ids"
expect_eq "$(grep '"split":"test"' "$T/out" | grep -c '"source":"board-00[12]"')" 4 "held-out ids make the test images"
expect_eq "$(grep -c '"split":"test"' "$T/out")" 4 "only they do"
run aoi-synth place --sources boards.jsonl -n 8 --holdout-ids board-009 --out p3
expect_status 1 "an unknown held-out id"
expect_err "no source has id 'board-009'" "unknown id named"

run aoi-synth place --draw-sources 3 -n 6 --size 96x96 --out drawn
expect_status 0 "place --draw-sources"
expect_true "drawn sources listed" test -s drawn/sources.jsonl
expect_eq "$(ls drawn/sources | wc -l | tr -d ' ')" 3 "three drawn sources"
expect_out '"width":96,"height":96' "place --size scales the output"

# ---- texture ----
run aoi-synth texture -n 6 --size 64x64 --classes 3 --defective 1 --out tex
expect_status 0 "texture"
expect_eq "$(grep -c '"label":"defective"' "$T/out")" 6 "texture --defective 1: all defective"
expect_eq "$(grep -c '"masks":{"\(scratch\|blob\|spot\)"' "$T/out")" 6 "texture: each defect has its mask"
expect_out '"source":"class03"' "texture: class as source"
run aoi-synth texture -n 6 --size 64x64 --defective 0 --out tex0
expect_eq "$(grep -c '"label":"good"' "$T/out")" 6 "texture --defective 0: all good"
run aoi-synth texture -n 4 --size 64x64 --defective 1 --labels ellipse --out texe
expect_status 0 "texture --labels ellipse"

# ---- defects on the drawn boards (not binary: scratch, blob, spot) ----
run aoi-synth defects --on boards.jsonl -n 5 --defects 2:2 --out def
expect_status 0 "defects"
expect_eq "$(grep -c '"classes":\["component","scratch","blob","spot"\]' "$T/out")" 5 "defects: the input's classes, then ours"
expect_out '"template":"src/board_000.png"' "defects: the original is the template"
expect_out '"boxes":\[\[' "defects: boxes"

# ---- augment ----
printf '%s\n' "$(sed -n 1p boards.jsonl | sed 's/"label":"good"/"label":"rare"/')" >mixed.jsonl
sed -n '2,4p' boards.jsonl >>mixed.jsonl
run aoi-synth augment --balance 3 --out bal mixed.jsonl
expect_status 0 "augment --balance"
expect_eq "$(grep -c '"label":"rare"' "$T/out")" 3 "balance: the rare label to 3"
expect_eq "$(grep -c '"label":"good"' "$T/out")" 3 "balance: the common label to 3"
expect_eq "$(grep -c '\-aug' "$T/out")" 2 "balance: two augmented copies"
run aoi-synth augment -n 2 --augment flip,rot=30 --out aug < boards.jsonl
expect_status 0 "augment from standard input"
expect_eq "$(grep -c . "$T/out")" 8 "augment: 2 copies of 4"

# ---- failures: exit 1, one line naming the file ----
run aoi-synth place --sources nosuch.jsonl -n 2 --out x
expect_status 1 "missing sources"
expect_one_line_error aoi-synth "missing sources"
expect_err "nosuch.jsonl" "missing sources named"
printf '{"id":"a","image":"src/board_000.png"}\n{"id":\n' >broken.jsonl
run aoi-synth place --sources broken.jsonl -n 2 --out x
expect_status 1 "malformed source line"
expect_one_line_error aoi-synth "malformed source line"
expect_err "broken.jsonl:2" "malformed line located"
head -c 300 src/board_000.png >trunc.png
sed 's|src/board_000.png|trunc.png|' boards.jsonl | head -1 >trunc.jsonl
run aoi-synth place --sources trunc.jsonl -n 2 --out x
expect_status 1 "truncated source image"
expect_one_line_error aoi-synth "truncated source image"
expect_err "trunc.png" "truncated image named"
printf '{"id":"a","image":"gone.png"}\n' >gone.jsonl
run aoi-synth defects --on gone.jsonl -n 1 --out x
expect_status 1 "defects on a missing image"
expect_err "gone.png" "missing image named"
run aoi-synth augment --out x gone.jsonl
expect_status 1 "augment of a missing image"
expect_one_line_error aoi-synth "augment of a missing image"
run aoi-synth texture -n 1 --size 32x32 --out /dev/null/x
expect_status 1 "unwritable output directory"
expect_one_line_error aoi-synth "unwritable output directory"
aoi-synth texture -n 1 --size 32x32 --out full >/dev/full 2>"$T/err"
status=$?
expect_status 1 "records to a full disk"
expect_one_line_error aoi-synth "records to a full disk"

# ---- DeepPCB templates: the six DeepPCB classes ----
if need_shared; then
	g="$AOI_SHARED/datasets/deeppcb/PCBData/group00041/00041"
	printf '{"id":"t0","image":"%s","label":"good"}\n' "$g/00041000_temp.jpg" >pcb.jsonl
	run aoi-synth defects --on pcb.jsonl -n 3 --out pcbdef
	expect_status 0 "defects on DeepPCB"
	expect_eq "$(grep -c '"classes":\["open","short","mousebite","spur","copper","pin-hole"\]' "$T/out")" 3 "DeepPCB classes"
	expect_out "\"template\":\"$g/00041000_temp.jpg\"" "DeepPCB: the template is the original"
fi

done_testing

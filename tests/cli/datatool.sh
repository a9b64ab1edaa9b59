# datatool.sh: aoi-datatool on small datasets the test makes itself (tiny
# PNGs written by python3 with zlib), and on DeepPCB when it is there.
. "$AOI_TOP/tests/cli/lib.sh"
P=aoi-datatool

if ! command -v python3 >/dev/null 2>&1; then
	echo "skipped: python3 is needed to write the test images"
	done_testing
	exit
fi

# mkpng PATH W H BG [x1,y1,x2,y2,V ...]: 8-bit gray PNG, rectangles of V
cat >"$T/mkpng.py" <<'PY'
import struct, sys, zlib
path, w, h, bg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
px = [[bg] * w for _ in range(h)]
for spec in sys.argv[5:]:
    x1, y1, x2, y2, v = map(int, spec.split(","))
    for y in range(y1, y2):
        for x in range(x1, x2):
            px[y][x] = v
raw = b"".join(b"\0" + bytes(r) for r in px)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
mkpng() { python3 "$T/mkpng.py" "$@"; }

# q FILE EXPR: evaluate a python expression over the records `r` of FILE
cat >"$T/q.py" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))
PY
q() { python3 "$T/q.py" "$@"; }

cd "$T" || exit 1

# ---- import yolo ----
mkdir -p y/images/train y/images/val y/labels/train y/labels/val
mkpng y/images/train/a.png 20 10 40
mkpng y/images/train/b.png 20 10 40
mkpng y/images/val/c.png 20 10 40
printf 'names:\n  0: scratch\n  1: dent  # a comment\n' >y/data.yaml
echo "1 0.5 0.5 0.2 0.4" >y/labels/train/a.txt
: >y/labels/train/b.txt
echo "0 0.1 0.1 0.9 0.1 0.1 0.9" >y/labels/val/c.txt
# pixels whose centre is inside that triangle (2,1) (18,1) (2,9), counted here
tri=$(python3 -c 'print(sum(1 for y in range(10) for x in range(20) if x + .5 > 2 and y + .5 > 1 and (x + .5 - 2) / 16 + (y + .5 - 1) / 8 < 1))')
run $P import yolo y
expect_status 0 "import yolo"
cp "$T/out" yolo.jsonl
expect_eq "$(q yolo.jsonl '[(x["id"], x.get("split"), x["label"]) for x in r]')" \
	"[('a', 'train', 'defective'), ('b', 'train', 'good'), ('c', 'val', 'defective')]" \
	"yolo records, splits and labels"
expect_eq "$(q yolo.jsonl 'r[0]["boxes"]')" "[[8.0, 3.0, 12.0, 7.0, 'dent']]" \
	"yolo box denormalised to pixels"
expect_eq "$(q yolo.jsonl 'r[0]["classes"], sorted(r[0]["masks"]), r[0]["masks"]["dent"]["size"]')" \
	"(['scratch', 'dent'], ['dent'], [10, 20])" "yolo box rasterised into an RLE mask"
expect_eq "$(q yolo.jsonl 'sorted(r[2]["masks"]), r[2]["boxes"]')" \
	"(['scratch'], [[2.0, 1.0, 18.0, 9.0, 'scratch']])" "yolo polygon rasterised, its box kept"
run $P validate yolo.jsonl
expect_status 0 "yolo import validates"
expect_out '"records":3,"valid":3,"problems":0' "validate summary"
run $P stats yolo.jsonl
expect_eq "$(q out 'r[0]["classes"]["scratch"]["area"]["min"], r[0]["classes"]["dent"]["area"]["min"]')" \
	"(128.0, 16.0)" "stats: instances are boxes where a record has them"
python3 -c 'import json; [print(json.dumps({k: v for k, v in json.loads(l).items() if k != "boxes"})) for l in open("yolo.jsonl")]' >nobox.jsonl
run $P stats nobox.jsonl
expect_eq "$(q out 'r[0]["classes"]["scratch"]["area"]["min"], r[0]["classes"]["dent"]["area"]["min"]')" \
	"($tri.0, 16.0)" "stats: else connected components of the mask (the polygon rasterised)"

# the flow form of names, and a bad label line
printf 'path: .\nnames: [scratch, "dent"]\n' >y/data.yaml
run $P import yolo y
expect_eq "$(q out 'r[0]["classes"]')" "['scratch', 'dent']" "data.yaml flow list"
echo "7 0.5 0.5 0.2 0.4" >y/labels/train/b.txt
run $P import yolo y
expect_status 1 "yolo class index out of range"
expect_one_line_error $P "bad yolo label"
expect_err "b\\.txt:1\\)" "bad yolo label names its file and line"
: >y/labels/train/b.txt

# darknet exports name the classes in classes.txt
mv y/data.yaml y/data.yaml.off
printf 'scratch\ndent\n' >y/classes.txt
run $P import yolo y
expect_eq "$(q out 'r[0]["classes"]')" "['scratch', 'dent']" "classes.txt without data.yaml"
rm y/classes.txt
run $P import yolo y
expect_status 1 "yolo without class names"
expect_one_line_error $P "yolo without class names"
mv y/data.yaml.off y/data.yaml

# ---- export yolo and back ----
run $P export yolo ex yolo.jsonl
expect_status 0 "export yolo"
expect_out '"boxes":1,"polygons":1' "export: box stays a box, polygon traced"
expect_true "exported data.yaml" test -f ex/data.yaml
expect_true "exported image" test -f ex/images/val/c.png
run $P import yolo ex
cp "$T/out" back.jsonl
expect_eq "$(q back.jsonl '[(x["id"], x.get("split"), x["label"], x.get("masks")) for x in r]')" \
	"$(q yolo.jsonl '[(x["id"], x.get("split"), x["label"], x.get("masks")) for x in r]')" \
	"import(export yolo) keeps ids, splits, labels and masks"
expect_eq "$(q back.jsonl 'r[0]["boxes"]')" "$(q yolo.jsonl 'r[0]["boxes"]')" \
	"import(export yolo) keeps boxes"

# ---- import mask-dir, export mask-dir and back ----
mkdir -p md/images md/masks
mkpng md/images/p1.png 12 8 90
mkpng md/images/p2.png 12 8 90
mkpng md/images/p3.png 12 8 90
mkpng md/masks/p1.png 12 8 0 1,1,4,3,255 8,5,10,8,255
mkpng md/masks/p3.png 12 8 0
run $P import mask-dir --images md/images --masks md/masks
expect_status 0 "import mask-dir"
cp "$T/out" md.jsonl
expect_eq "$(q md.jsonl '[(x["id"], x["label"], sorted(x.get("masks", {}))) for x in r]')" \
	"[('p1', 'defective', ['defect']), ('p2', 'good', []), ('p3', 'good', [])]" \
	"mask-dir: nonzero is defect; no mask or an empty one is good"
run $P stats md.jsonl
expect_eq "$(q out 'r[0]["instances"], r[0]["area"]["min"], r[0]["area"]["max"], r[0]["defective"]')" \
	"(2, 6.0, 6.0, 1)" "stats: two defect regions of 6 pixels"
run $P export mask-dir mdx md.jsonl
expect_status 0 "export mask-dir"
expect_true "a mask for the defective image" test -f mdx/masks/p1.png
expect_true "no mask for a good image" test ! -e mdx/masks/p2.png
run $P import mask-dir --images mdx/images --masks mdx/masks
expect_eq "$(q out '[x.get("masks") for x in r]')" "$(q md.jsonl '[x.get("masks") for x in r]')" \
	"import(export mask-dir) keeps the masks"
mkdir -p mc
mkpng mc/p2.png 12 8 0 0,0,2,2,1 5,5,7,7,2
run $P import mask-dir --images md/images --masks mc --classes open,short
expect_eq "$(q out 'sorted(r[1]["masks"])')" "['open', 'short']" "mask-dir class indices with --classes"
run $P import mask-dir --images md/images --masks mc --classes open
expect_eq "$(q out 'sorted(r[1]["masks"])')" "['open']" "one class: any nonzero value is it"
mkpng mc/p2.png 12 8 0 0,0,2,2,3
run $P import mask-dir --images md/images --masks mc --classes open,short
expect_status 1 "mask value beyond the classes"
expect_one_line_error $P "mask value beyond the classes"

# KolektorSDD's BMP labels and KolektorSDD2's RGB _GT.png masks
mkdir -p ks/images ks/masks
mkpng ks/images/k1.png 6 4 90
mkpng ks/images/k2.png 6 4 90
python3 - <<'PY'
import struct, zlib
w, h = 6, 4
def px(x, y): return 255 if x >= 4 and y >= 2 else 0
rows = b"".join(bytes(v for x in range(w) for v in (px(x, y),) * 3) + b"\0\0" for y in reversed(range(h)))
head = b"BM" + struct.pack("<IHHI", 54 + len(rows), 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
open("ks/masks/k1_label.bmp", "wb").write(head + rows)
raw = b"".join(b"\0" + bytes(v for x in range(w) for v in ((0, 200, 0) if x < 2 and y < 1 else (0, 0, 0))) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open("ks/masks/k2_GT.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
run $P import mask-dir --images ks/images --masks ks/masks
expect_status 0 "import mask-dir with BMP and RGB masks"
cp "$T/out" ks.jsonl
run $P stats ks.jsonl
expect_eq "$(q out 'r[0]["defective"], r[0]["area"]["min"], r[0]["area"]["max"]')" "(2, 2.0, 4.0)" \
	"BMP label (a 2x2 corner) and RGB _GT.png (2 pixels) read as binary masks"

# ---- import class-dirs ----
mkdir -p cd/cat cd/dog sp/train/cat sp/val/dog
mkpng cd/cat/x.png 4 4 10
mkpng cd/dog/y.png 4 4 10
mkpng cd/dog/z.png 4 4 10
mkpng sp/train/cat/x.png 4 4 10
mkpng sp/val/dog/x.png 4 4 10
run $P import class-dirs cd
expect_status 0 "import class-dirs"
expect_eq "$(q out '[(x["id"], x["label"], x["image"]) for x in r]')" \
	"[('x', 'cat', 'cd/cat/x.png'), ('y', 'dog', 'cd/dog/y.png'), ('z', 'dog', 'cd/dog/z.png')]" \
	"class-dirs: label = folder, paths as given"
run $P import class-dirs sp
expect_eq "$(q out '[(x["id"], x["label"], x["split"]) for x in r]')" \
	"[('x', 'cat', 'train'), ('val/dog/x', 'dog', 'val')]" \
	"class-dirs under split folders; a repeated stem gets a longer id"
run $P import class-dirs --absolute cd
expect_eq "$(q out 'r[0]["image"]')" "$T/cd/cat/x.png" "--absolute"

# class folders with masks beside the images (magnetic-tile's layout):
# CLASS/Imgs/NAME.jpg and NAME.png, soft masks cut at 128 by default
mkdir -p mt/MT_Free/Imgs mt/MT_Crack/Imgs mt/MT_Hole/Imgs
for f in MT_Free/Imgs/f1 MT_Free/Imgs/f2 MT_Crack/Imgs/c1 MT_Crack/Imgs/c2 MT_Hole/Imgs/h1; do
	cp "$TESTDATA/datatool/board.jpg" mt/$f.jpg
done
mkpng mt/MT_Free/Imgs/f1.png 24 16 0
mkpng mt/MT_Crack/Imgs/c1.png 24 16 0 2,2,4,4,255 10,10,13,11,60
mkpng mt/MT_Crack/Imgs/c2.png 24 16 0
mkpng mt/MT_Hole/Imgs/h1.png 24 16 0 20,0,23,1,200
run $P import class-dirs mt
expect_status 0 "import class-dirs with masks beside"
cp "$T/out" mt.jsonl
expect_eq "$(q mt.jsonl '[(x["id"], x["label"], x.get("classes"), sorted(x.get("masks", {}))) for x in r]')" \
	"[('c1', 'defective', ['MT_Crack'], ['MT_Crack']), ('c2', 'defective', ['MT_Crack'], []), ('f1', 'good', None, []), ('f2', 'good', None, []), ('h1', 'defective', ['MT_Hole'], ['MT_Hole'])]" \
	"masks beside: class = folder, a folder without defect pixels is good, an empty mask in a defect folder leaves the label alone"
expect_eq "$(q mt.jsonl 'r[0]["image"], len(r)')" "('mt/MT_Crack/Imgs/c1.jpg', 5)" \
	"images found below the class folder; the masks are not images"
run $P stats mt.jsonl
expect_eq "$(q out 'r[0]["area"]["min"], r[0]["area"]["max"]')" "(3.0, 4.0)" \
	"soft masks cut at 128: the 2x2 blowhole, not the faint stroke"
run $P import class-dirs --mask-threshold 50 mt
cp "$T/out" mt50.jsonl
run $P stats mt50.jsonl
expect_eq "$(q out 'r[0]["instances"], r[0]["area"]["min"]')" "(3, 3.0)" \
	"--mask-threshold 50 takes the faint stroke too"
run $P import class-dirs --mask-threshold 0 mt
expect_status 2 "--mask-threshold 0"
mkpng mt/MT_Hole/Imgs/h1.png 20 16 0
run $P import class-dirs mt
expect_status 1 "a mask beside of another size"
expect_one_line_error $P "a mask beside of another size"

# ---- split, filter, sample ----
python3 - >many.jsonl <<'PY'
import json
for i in range(200):
    print(json.dumps({"id": "r%03d" % i, "image": "cd/cat/x.png", "label": "good" if i % 4 else "defective",
                      "group": "g%d" % (i % 10), "source": "s%d" % (i % 2), "extra": {"keep": i}}))
PY
tac many.jsonl >rev.jsonl
run $P split --val 0.2 --test 0.1 --seed 7 --stratify label many.jsonl
cp "$T/out" split1.jsonl
$P split --val 0.2 --test 0.1 --seed 7 --stratify label rev.jsonl >split2.jsonl
expect_eq "$(q split1.jsonl 'sorted((x["id"], x["split"]) for x in r) == sorted((x["id"], x["split"]) for x in __import__("json").loads("[" + ",".join(open("split2.jsonl")) + "]"))')" \
	"True" "split does not depend on input order"
expect_eq "$(q split1.jsonl '[sum(x["split"] == s for x in r) for s in ("train", "val", "test")]')" \
	"[140, 40, 20]" "split proportions"
expect_eq "$(q split1.jsonl 'sum(x["split"] == "test" and x["label"] == "defective" for x in r), r[5]["extra"]')" \
	"(5, {'keep': 5})" "stratified by label; unknown fields kept"
$P split --seed 8 many.jsonl >split3.jsonl
expect_true "another seed, another split" sh -c "! cmp -s split1.jsonl split3.jsonl"
run $P split --test 0.3 --val 0 --by group many.jsonl
expect_eq "$(q out 'all(len({y["split"] for y in r if y["group"] == x["group"]}) == 1 for x in r), sum(x["split"] == "test" for x in r)')" \
	"(True, 60)" "--by group keeps groups whole"
run $P split --val 0.7 --test 0.5 many.jsonl
expect_status 2 "shares over 1"
run $P filter --label defective --source s0 --group g0 --group g4,g5 many.jsonl
expect_eq "$(q out 'len(r), sorted({x["group"] for x in r})')" "(20, ['g0', 'g4'])" "filter: AND of ORs"
run $P filter --class dent yolo.jsonl
expect_eq "$(q out '[x["id"] for x in r]')" "['a']" "filter by class"
run $P sample -n 30 --seed 3 --stratify label many.jsonl
cp "$T/out" s1.jsonl
$P sample -n 30 --seed 3 --stratify label rev.jsonl >s2.jsonl
expect_eq "$(q s1.jsonl 'len(r), sum(x["label"] == "defective" for x in r)')" "(30, 8)" "sample size and strata"
expect_eq "$(q s1.jsonl 'sorted(x["id"] for x in r)')" "$(q s2.jsonl 'sorted(x["id"] for x in r)')" \
	"sample does not depend on input order"
run $P sample many.jsonl
expect_status 2 "sample without -n"

# ---- hash ----
run $P hash yolo.jsonl
expect_out '^[0-9a-f]{64}$' "hash is one hex SHA-256"
h1=$(cat "$T/out")
expect_eq "$($P hash <yolo.jsonl)" "$h1" "hash of standard input"
python3 -c 'import json,sys; [print(json.dumps(dict(reversed(list(json.loads(l).items()))))) for l in open("yolo.jsonl")]' >keys.jsonl
expect_eq "$($P hash keys.jsonl)" "$h1" "hash ignores key order"
mkpng y/images/train/b.png 20 10 41
expect_true "hash follows image bytes" sh -c "[ \"\$($P hash yolo.jsonl)\" != $h1 ]"

# ---- render ----
python3 -c 'import json; r=[json.loads(l) for l in open("yolo.jsonl")]; r[0]["keypoints"]=[[2,2]]; r[0]["pred"]={"label":"defective","prob":0.9,"boxes":[[7,3,12,7,"dent",0.8]],"keypoints":[[3,3]]}; [print(json.dumps(x)) for x in r]' >pred.jsonl
run $P render --out rend pred.jsonl
expect_status 0 "render"
expect_eq "$(q out '[x["render"] for x in r]')" "['rend/a.png', 'rend/b.png', 'rend/c.png']" "render field"
expect_eq "$(python3 -c 'import struct; print([struct.unpack(">II", open("rend/%s.png" % n, "rb").read()[16:24]) for n in "ab"])')" \
	"[(44, 10), (20, 10)]" "truth and prediction side by side"

# ---- bad input: one line naming the file (and line), exit 1, no partial output ----
head -c 200 "$TESTDATA/datatool/board.jpg" >trunc.jpg
cp "$TESTDATA/datatool/board.jpg" good.jpg
python3 -c 'd=bytearray(open("md/images/p1.png","rb").read()); d[29]^=0xff; open("badcrc.png","wb").write(d)'
for bad in trunc.jpg badcrc.png missing.png; do
	printf '{"id":"ok","image":"good.jpg"}\n{"id":"x","image":"%s"}\n' "$bad" >bad.jsonl
	run $P validate bad.jsonl
	expect_status 1 "validate $bad"
	expect_one_line_error $P "validate $bad"
	expect_err "bad\\.jsonl:2\\): .*$bad" "validate $bad names the dataset line and the file"
	expect_out '"records":2,"valid":1,"problems":1' "validate $bad summary"
	run $P render --out r-$bad bad.jsonl
	expect_status 1 "render $bad"
	expect_one_line_error $P "render $bad"
	expect_true "render $bad leaves no files" sh -c "[ -z \"\$(ls r-$bad 2>/dev/null)\" ]"
	run $P export mask-dir e-$bad bad.jsonl
	expect_status 1 "export $bad"
	expect_true "export $bad writes nothing" test ! -e e-$bad
	run $P hash bad.jsonl
	[ "$bad" = missing.png ] && expect_one_line_error $P "hash of a missing file"
done
printf '{"id":"ok","image":"good.jpg"}\n{"id": oops}\n{"id":"ok2","image":"good.jpg"}\n' >bad.jsonl
run $P validate bad.jsonl
expect_status 1 "validate a malformed line"
expect_one_line_error $P "validate a malformed line"
expect_err "bad\\.jsonl:2\\)" "malformed line located"
for cmd in stats split hash "filter --label good" "sample -n 1"; do
	run $P $cmd bad.jsonl
	expect_status 1 "$cmd of a malformed line"
	expect_one_line_error $P "$cmd of a malformed line"
	expect_err "bad\\.jsonl:2\\)" "$cmd: malformed line located"
done
run $P export yolo e-json bad.jsonl
expect_status 1 "export of a malformed line"
expect_true "export of a malformed line writes nothing" test ! -e e-json
printf '{"id":"x","image":"good.jpg","width":99,"height":16}\n' >size.jsonl
run $P validate size.jsonl
expect_err "is 24x16 but the record says 99x16" "size mismatch"
printf '{"id":"x","image":"good.jpg","template":"%s"}\n' "$TESTDATA/datatool/color.jpg" >tpl.jsonl
run $P validate tpl.jsonl
expect_status 0 "template of the same size"
printf '{"id":"x","image":"good.jpg","label":7}\n' >schema.jsonl
run $P validate schema.jsonl
expect_status 1 "schema problem"
expect_err "schema\\.jsonl:1\\)" "schema problem located"
mkdir -p sub && cp good.jpg sub/
printf '{"id":"x","image":"good.jpg"}\n' >sub/rel.jsonl
run $P validate sub/rel.jsonl
expect_status 0 "paths relative to the dataset file"
run $P validate --root sub - <sub/rel.jsonl
expect_status 0 "--root for standard input"
run $P import deeppcb nowhere
expect_status 1 "import of a missing directory"
expect_one_line_error $P "import of a missing directory"

# ---- usage ----
run $P frobnicate
expect_status 2 "unknown command"
run $P stats --seed 3 yolo.jsonl
expect_status 2 "an option the command does not take"
run $P import tarball y
expect_status 2 "unknown import format"

# ---- DeepPCB ----
if need_shared; then
	D="$AOI_SHARED/datasets/deeppcb"
	run $P import deeppcb "$D"
	expect_status 0 "import deeppcb"
	cp "$T/out" dp.jsonl
	run $P validate dp.jsonl
	expect_status 0 "DeepPCB import validates"
	expect_out '"records":1500,"valid":1500,"problems":0,"images":1500,"templates":1500' \
		"1500 records, every image and template decoded"
	want=$(cd "$D/PCBData" && awk '{print $2}' trainval.txt test.txt | xargs awk '
		BEGIN { split("open short mousebite spur copper pin-hole", n, " ") }
		NF == 5 { c[$5]++ } END { for (k = 1; k <= 6; k++) printf "%s=%d ", n[k], c[k] }')
	run $P stats dp.jsonl
	got=$(q out '" ".join("%s=%d" % (k, r[0]["classes"][k]["instances"]) for k in ("open", "short", "mousebite", "spur", "copper", "pin-hole"))')
	expect_eq "$got " "$want" "per-class box counts equal the annotation files"
	expect_eq "$(q out 'r[0]["splits"]')" "{'train': 1000, 'test': 500}" "official split"
	expect_eq "$(q dp.jsonl 'r[0]["classes"], r[0]["group"], r[0]["image"].endswith("_test.jpg"), r[0]["template"].endswith("_temp.jpg")')" \
		"(['open', 'short', 'mousebite', 'spur', 'copper', 'pin-hole'], 'group20085', True, True)" \
		"classes in type order, group, image and template"
	run $P import deeppcb --split test "$D"
	expect_eq "$(grep -c . "$T/out")" 500 "--split test"
fi

done_testing

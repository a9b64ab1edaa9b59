#!/usr/bin/env python3
"""Regenerate the tiny training set of tests/cli/train.sh and infer.sh.

32x32 gray boards: a template of horizontal and vertical traces, and a test
image that is the template plus defects: a black square cut out of copper
("open") or a white square added between traces ("short"). Deterministic
(fixed seed); standard library only. Run from this directory."""
import json, random, struct, zlib

def png(path, w, h, pix):
    raw = b"".join(b"\0" + bytes(pix[y * w:(y + 1) * w]) for y in range(h))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

rng = random.Random(4)
W = H = 32
out = open("train.jsonl", "w")
for i in range(16):
    t = [0] * (W * H)
    for _ in range(3):
        if rng.random() < 0.5:
            y = rng.randrange(2, H - 6)
            for yy in range(y, y + 3):
                for x in range(W):
                    t[yy * W + x] = 255
        else:
            x = rng.randrange(2, W - 6)
            for yy in range(H):
                for xx in range(x, x + 3):
                    t[yy * W + xx] = 255
    img = list(t)
    boxes = []
    n = i % 3  # 0, 1 or 2 defects
    for _ in range(n):
        cls = rng.choice(["open", "short"])
        s = rng.randrange(5, 9)
        x, y = rng.randrange(0, W - s), rng.randrange(0, H - s)
        v = 0 if cls == "open" else 255
        for yy in range(y, y + s):
            for xx in range(x, x + s):
                img[yy * W + xx] = v
        boxes.append([x, y, x + s, y + s, cls])
    png("b%02d.png" % i, W, H, img)
    png("t%02d.png" % i, W, H, t)
    c = [(6, 6), (26, 6), (6, 26), (26, 26)]
    rec = {"id": "b%02d" % i, "image": "b%02d.png" % i, "template": "t%02d.png" % i,
           "width": W, "height": H, "classes": ["open", "short"],
           "label": "defective" if boxes else "good", "boxes": boxes,
           "keypoints": [[x + rng.randrange(-3, 4), y + rng.randrange(-3, 4)] for x, y in c],
           "split": "val" if i >= 13 else "train"}
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
out.close()

# One 64x64 board for tiling: four 32x32 boards side by side, one "short".
big = [0] * (64 * 64)
tbig = [0] * (64 * 64)
for y in range(64):
    for x in range(0, 64, 16):
        for xx in range(x + 4, x + 7):
            tbig[y * 64 + xx] = big[y * 64 + xx] = 255
for y in range(40, 48):
    for x in range(8, 20):
        big[y * 64 + x] = 255
png("big.png", 64, 64, big)
png("bigt.png", 64, 64, tbig)
with open("big.jsonl", "w") as f:
    f.write(json.dumps({"id": "big", "image": "big.png", "template": "bigt.png", "width": 64,
                        "height": 64, "classes": ["open", "short"],
                        "boxes": [[8, 40, 20, 48, "short"]]}, separators=(",", ":")) + "\n")

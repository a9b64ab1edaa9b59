// ort-run.js: ONNX Runtime (npm onnxruntime-node, CPU) on raw float32 tensors,
// for scripts/check-peers.sh. ORT_MODULE names the module (default:
// onnxruntime-node on NODE_PATH).
//   node ort-run.js input FILE N C H W [SEED]    a reproducible input in [-1, 1)
//   node ort-run.js run MODEL.onnx IN N C H W OUT   the model's first output
//   node ort-run.js compare A B [TOL] [CLASSES]   max |a - b| / max |b|; exit 1 above TOL;
//                                                with CLASSES, softmax over rows of A first
const fs = require('fs');

function input(file, n, c, h, w, seed) {
  const x = new Float32Array(n * c * h * w);
  let s = BigInt(seed || 1);
  for (let i = 0; i < x.length; i++) { // a 64-bit LCG, top 24 bits
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    x[i] = Number(s >> 40n) / 8388608 - 1;
  }
  fs.writeFileSync(file, Buffer.from(x.buffer));
}

function floats(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

async function run(model, inFile, n, c, h, w, outFile) {
  const ort = require(process.env.ORT_MODULE || 'onnxruntime-node');
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const x = new ort.Tensor('float32', floats(inFile), [n, c, h, w]);
  const y = await s.run({ [s.inputNames[0]]: x });
  const out = y[s.outputNames[0]].data;
  fs.writeFileSync(outFile, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
}

function softmax(x, k) {
  for (let r = 0; r < x.length; r += k) {
    const m = Math.max(...x.subarray(r, r + k));
    let s = 0;
    for (let i = r; i < r + k; i++) s += (x[i] = Math.exp(x[i] - m));
    for (let i = r; i < r + k; i++) x[i] /= s;
  }
}

function compare(a, b, tol, k) {
  const x = floats(a), y = floats(b);
  if (k) softmax(x, k);
  if (x.length !== y.length) {
    console.log(`sizes differ: ${x.length} and ${y.length} values`);
    process.exit(1);
  }
  let d = 0, m = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]);
    d = e > d || Number.isNaN(e) ? e : d;
    m = Math.max(m, Math.abs(y[i]));
  }
  const rel = m > 0 ? d / m : d;
  console.log(`max abs ${d.toExponential(2)} rel ${rel.toExponential(2)}`);
  process.exit(Number.isNaN(rel) || rel > tol ? 1 : 0);
}

const [cmd, ...a] = process.argv.slice(2);
if (cmd === 'input') input(a[0], +a[1], +a[2], +a[3], +a[4], a[5]);
else if (cmd === 'run') run(a[0], a[1], +a[2], +a[3], +a[4], +a[5], a[6]).catch((e) => { console.error(e.message); process.exit(1); });
else if (cmd === 'compare') compare(a[0], a[1], a[2] ? +a[2] : 1e-4, a[3] ? +a[3] : 0);
else { console.error('usage: ort-run.js input|run|compare ...'); process.exit(2); }

// Output parity of the exported ONNX networks: runs each .onnx in onnxruntime-node on the test input
// saved by `python -m medparse_train.export` (training/fixtures/onnx/<net>.json + raw float32 .bin files)
// and prints the max abs difference to the PyTorch outputs. Exit code 1 when a difference exceeds the
// tolerance (default 1e-3 absolute on logits, scaled by max(1, max|logit| / 100)).
//   node training/check_onnx_parity.mjs [fixture-dir] [--tol 1e-3]
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const args = process.argv.slice(2);
const tolAt = args.indexOf('--tol');
const tol = tolAt >= 0 ? Number(args[tolAt + 1]) : 1e-3;
const dir = args.find((a, i) => !a.startsWith('--') && (tolAt < 0 || i !== tolAt + 1)) ?? join(here, 'fixtures', 'onnx');

function readF32(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

let failed = false;
const fixtures = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
if (fixtures.length === 0) {
  console.log(`no fixtures in ${dir}: run medparse_train.export first`);
  process.exit(0);
}
for (const f of fixtures) {
  const net = f.replace(/\.json$/, '');
  const meta = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const onnxPath = resolve(repo, meta.onnx);
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 2 });
  const image = new ort.Tensor('float32', readF32(join(dir, `${net}_image.bin`)), meta.image_shape);
  const ids = new ort.Tensor('int64', BigInt64Array.from(meta.concept_ids.map((v) => BigInt(v))), [
    meta.concept_ids.length,
  ]);
  const t0 = performance.now();
  const out = await session.run({ image, concept_ids: ids });
  const ms = performance.now() - t0;
  const maxDiff = (a, b) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  };
  const expLogits = readF32(join(dir, `${net}_logits.bin`));
  const expPresence = readF32(join(dir, `${net}_presence.bin`));
  const shapeOk = JSON.stringify(out.logits.dims) === JSON.stringify(meta.logits_shape);
  const dl = maxDiff(out.logits.data, expLogits);
  const dp = maxDiff(out.presence.data, expPresence);
  const limit = tol * Math.max(1, meta.logits_max_abs / 100);
  const ok = shapeOk && dl <= limit && dp <= limit;
  failed ||= !ok;
  console.log(
    `${net}: logits ${out.logits.dims.join('x')} max|diff| ${dl.toExponential(2)}, presence max|diff| ${dp.toExponential(2)} ` +
      `(max|logit| ${meta.logits_max_abs.toFixed(1)}, limit ${limit.toExponential(1)}, ${ms.toFixed(0)} ms) ${ok ? 'OK' : 'FAIL'}`,
  );
}
process.exit(failed ? 1 : 0);

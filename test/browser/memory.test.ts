/**
 * The in-browser mode's memory check (issue 21 item 5): the engine's estimate made from a header alone
 * (nothing allocated for the voxels it declares), refused with what to do past the 4 GiB a tab can give,
 * and that limit as onnxruntime-web's WebAssembly declares it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { browserEstimate, BROWSER_MEMORY_LIMIT_BYTES, checkBrowserMemory } from '../../src/browser/memory.js';
import { isSheared } from '../../src/core/affine.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { openDicomBytes, openVolumeBytes } from '../../src/io/read-bytes.js';
import { ParseEngine } from '../../src/tasks/engine.js';
import { hugeNiftiHeader } from '../helpers/image-files.js';
import { writeTestModel } from '../helpers/test-model.js';
import { makeTempDir, withTempDir } from '../helpers/volumes.js';
import { writeSeries, type SeriesSpec } from '../io/dicom/make-series.js';

describe('the in-browser memory check', () => {
  const model = makeTempDir();
  let engine: ParseEngine;
  before(() => {
    engine = ParseEngine.load(writeTestModel(model.path), { threads: 1 });
  });
  after(async () => {
    await engine.dispose();
    model.cleanup();
  });

  it('refuses, from its header alone, a scan the run would need more than 4 GiB for', async () => {
    // 1000 x 1000 x 900 int16 declared (1.7 GiB of voxels), 352 bytes given
    const opened = await openVolumeBytes(hugeNiftiHeader([1000, 1000, 900], [0.8, 0.8, 1]), 'huge.nii');
    assert.deepEqual(opened.header.dims, [1000, 1000, 900]);
    assert.deepEqual(opened.header.spacing, [0.8, 0.8, 1].map(Math.fround));
    const estimate = browserEstimate(
      engine.estimateMemory(opened.header, { task: 'segment', prompts: 'kidneys' }),
      opened.header.dims,
    );
    assert.equal(estimate.results, 9e8 * 6);
    assert.ok(estimate.total > BROWSER_MEMORY_LIMIT_BYTES, `${estimate.total}`);
    // the scan and its float32 working copy alone: 9e8 voxels x (2 + 4) bytes
    assert.ok(estimate.volumes > 9e8 * 6);
    assert.throws(() => checkBrowserMemory(estimate, 'huge.nii'), {
      message:
        /^huge\.nii: this run needs about \d+\.\d GB in the browser \(the scan's files 0\.0 GB, the scan, its working copies and maps \d+\.\d GB, the networks' windows \d\.\d GB, the results \d+\.\d GB\), more than the 4\.0 GB a browser tab can give it; run it on the server \(uncheck "Run in this browser"\), or crop the scan to the region you need$/,
    });
    // nothing was decoded: loading it now says the file holds no voxels
    await assert.rejects(opened.load());
  });

  it("counts the scan's files the worker holds (a DICOM series' files are about the scan's size)", async () => {
    const header = (await openVolumeBytes(hugeNiftiHeader([512, 512, 300], [0.8, 0.8, 1.5]), 'ct.nii')).header;
    const engineEstimate = engine.estimateMemory(header, { task: 'segment', prompts: 'kidneys' });
    const files = 512 * 512 * 300 * 2 + 300 * 2048;
    const withFiles = browserEstimate(engineEstimate, header.dims, files);
    const without = browserEstimate(engineEstimate, header.dims);
    assert.equal(withFiles.input, files);
    assert.equal(withFiles.total - without.total, files);
    assert.throws(() => checkBrowserMemory(withFiles, 'series', without.total + files / 2), {
      message: /^series: this run needs about \d+\.\d GB in the browser \(the scan's files 0\.1 GB, /,
    });
  });

  it('lets through a scan of ordinary size, and grows with the scan and the prompts', async () => {
    const header = (await openVolumeBytes(hugeNiftiHeader([256, 256, 200], [0.8, 0.8, 1]), 'ct.nii')).header;
    const one = engine.estimateMemory(header, { task: 'segment', prompts: 'kidneys' });
    assert.doesNotThrow(() => checkBrowserMemory(browserEstimate(one, header.dims), 'ct.nii'));
    const twice = engine.estimateMemory({ ...header, dims: [256, 256, 400] }, { task: 'segment', prompts: 'kidneys' });
    assert.ok(Math.abs(twice.volumes / one.volumes - 2) < 0.01, `${twice.volumes / one.volumes}`);
    assert.equal(twice.windows, one.windows, 'windows do not grow with the scan');
    const more = engine.estimateMemory(header, { task: 'segment', prompts: 'kidneys, vertebral column' });
    assert.ok(more.total > one.total);
    const recognize = engine.estimateMemory(header, { task: 'recognize', prompts: '' });
    assert.ok(recognize.total >= more.total);
  });

  it('counts a gantry-tilted series on the straightened grid it is worked on, from its headers alone', () =>
    withTempDir(async (dir) => {
      const tilt = (30 * Math.PI) / 180;
      const open = async (name: string, spec: SeriesSpec) => {
        const common = { columns: 64, rows: 64, slices: 20, pixelSpacing: [1, 1] as [number, number], modality: 'CT' };
        const series = await writeSeries(join(dir, name), { ...common, ...spec });
        return openDicomBytes(
          series.files.map((file) => ({ name: basename(file), bytes: new Uint8Array(readFileSync(file)) })),
          name,
        );
      };
      // the same 1 x 1 x 3 mm voxels, one stack tilted 30 degrees (its table still steps along z)
      const tilted = await open('tilted', {
        orientation: [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)],
        step: [0, 0, 3],
      });
      const upright = await open('upright', { orientation: 'axial', sliceSpacing: 3 });
      assert.deepEqual(tilted.header.spacing, upright.header.spacing);
      assert.ok(tilted.header.affine && isSheared(tilted.header.affine));
      const request = { task: 'segment', prompts: 'kidneys' } as const;
      const fromHeaders = engine.estimateMemory(tilted.header, request);
      assert.ok(fromHeaders.volumes > engine.estimateMemory(upright.header, request).volumes);
      // what the engine counts once the voxels are read
      const volume = await tilted.load();
      const grid = { dims: volume.dims, bytesPerVoxel: tilted.header.bytesPerVoxel, spacing: tilted.header.spacing };
      const fromVolume = engine.estimateMemory({ ...grid, affine: volume.affine, modality: 'CT' }, request);
      assert.equal(fromHeaders.volumes, fromVolume.volumes);
    }));

  it('holds the networks windows as the sliding window does: a batch of 2 patches in, the rows out, twice', () => {
    const network = engine.model.networks.find((n) => n.concepts.some((c) => c.id === 'kidney'));
    assert.ok(network);
    const patchVoxels = network.patchSize[0] * network.patchSize[1] * network.patchSize[2];
    const grid = { dims: [64, 64, 64] as [number, number, number], bytesPerVoxel: 2, spacing: network.spacing };
    const { windows } = engine.estimateMemory({ ...grid, modality: 'CT' }, { task: 'segment', prompts: 'kidneys' });
    // two copies x 2 patches x float32 x (the input + one map per row run), whatever rows "kidneys" runs
    const rows = windows / (2 * 2 * patchVoxels * 4) - 1;
    assert.ok(Number.isInteger(rows) && rows >= 1, `${rows} rows`);
  });

  it("is the most onnxruntime-web's WebAssembly memory may grow to (its .wasm's memory import)", () => {
    const wasm = readFileSync(
      join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist', 'ort-wasm-simd-threaded.wasm'),
    );
    assert.equal(wasmMemoryMaximumPages(wasm) * 65536, BROWSER_MEMORY_LIMIT_BYTES);
  });
});

/** The maximum pages of the memory a WebAssembly binary imports or defines. */
function wasmMemoryMaximumPages(bytes: Uint8Array): number {
  let at = 8;
  const leb = () => {
    let [value, shift, byte] = [0, 0, 0];
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const name = () => {
    const length = leb();
    at += length;
  };
  const limits = () => {
    const flags = bytes[at++];
    leb();
    return flags & 1 ? leb() : Infinity;
  };
  while (at < bytes.length) {
    const section = bytes[at++];
    const end = leb() + at;
    if (section === 2)
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = bytes[at++];
        if (kind === 2) return limits();
        if (kind === 0) leb();
        else if (kind === 1) {
          at += 1;
          limits();
        } else if (kind === 3) at += 2;
      }
    if (section === 5) {
      leb();
      return limits();
    }
    at = end;
  }
  throw new Error('the binary has no memory');
}

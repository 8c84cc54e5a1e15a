import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { voxelSizes } from '../../src/core/affine.js';
import type { Dims3, Volume } from '../../src/core/volume.js';
import {
  closing,
  dilate,
  erode,
  fillHoles,
  fillHolesSlices,
  opening,
  type StructuringElement,
} from '../../src/ops/morphology.js';
import { at, countNonzero, diagonalAffine, filled, random } from './fixtures.js';

const unit = diagonalAffine([1, 1, 1]);

function cube(dims: Dims3, low: number, high: number, affine = unit): Volume {
  return filled(dims, affine, new Uint8Array(dims[0] * dims[1] * dims[2]), (i, j, k) =>
    i >= low && i <= high && j >= low && j <= high && k >= low && k <= high ? 1 : 0,
  );
}

/** The element as explicit voxel offsets. */
function offsets(element: StructuringElement, spacing: number[]): Array<[number, number, number]> {
  const list: Array<[number, number, number]> = [];
  const reach =
    'radiusMm' in element
      ? spacing.map((s) => Math.floor(element.radiusMm / s))
      : [element.radius, element.radius, element.radius];
  for (let c = -reach[2]; c <= reach[2]; c++)
    for (let b = -reach[1]; b <= reach[1]; b++)
      for (let a = -reach[0]; a <= reach[0]; a++) {
        const inside =
          'radiusMm' in element
            ? (a * spacing[0]) ** 2 + (b * spacing[1]) ** 2 + (c * spacing[2]) ** 2 <= element.radiusMm ** 2 + 1e-9
            : element.connectivity === 6
              ? Math.abs(a) + Math.abs(b) + Math.abs(c) <= element.radius
              : true;
        if (inside) list.push([a, b, c]);
      }
  return list;
}

/** Dilation/erosion by direct offset loops, ignoring voxels outside the volume. */
function reference(mask: Volume, element: StructuringElement, dilation: boolean): Uint8Array {
  const [nx, ny, nz] = mask.dims;
  const out = new Uint8Array(mask.data.length);
  const list = offsets(element, voxelSizes(mask.affine));
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        let result = !dilation;
        for (const [a, b, c] of list) {
          const x = i + a;
          const y = j + b;
          const z = k + c;
          if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
          const v = mask.data[x + nx * (y + ny * z)] !== 0;
          if (dilation && v) result = true;
          if (!dilation && !v) result = false;
        }
        out[i + nx * (j + ny * k)] = result ? 1 : 0;
      }
  return out;
}

describe('dilate and erode', () => {
  const point = filled([11, 11, 11], unit, new Uint8Array(1331), (i, j, k) => (i === 5 && j === 5 && k === 5 ? 1 : 0));

  it('grows a voxel into the element', () => {
    assert.equal(countNonzero(dilate(point, { radius: 2 }).data), 125);
    assert.equal(countNonzero(dilate(point, { radius: 2, connectivity: 6 }).data), 25);
    assert.equal(countNonzero(dilate(point, { radiusMm: 2 }).data), 33);
    const anisotropic = { ...point, affine: diagonalAffine([1, 1, 2]) };
    assert.equal(countNonzero(dilate(anisotropic, { radiusMm: 2 }).data), 15);
    assert.equal(countNonzero(dilate(point, { radius: 0 }).data), 1);
  });

  it("measures millimetres at the voxel size the file states, not its affine's (a unit-scaled sform)", () => {
    // ACDC-like: the affine holds directions only, the header says 1 x 1 x 2 mm
    const stated = { ...point, spacing: [1, 1, 2] as [number, number, number] };
    assert.equal(countNonzero(dilate(stated, { radiusMm: 2 }).data), 15);
    assert.equal(countNonzero(dilate({ ...point, spacing: [2, 2, 2] }, { radiusMm: 2 }).data), 7);
  });

  it('has known voxel counts on a cube', () => {
    const box = cube([15, 15, 15], 5, 9);
    assert.equal(countNonzero(erode(box, { radius: 1 }).data), 27);
    assert.equal(countNonzero(erode(box, { radius: 1, connectivity: 6 }).data), 27);
    assert.equal(countNonzero(erode(box, { radius: 3 }).data), 0);
    assert.equal(countNonzero(dilate(box, { radius: 1 }).data), 343);
    assert.equal(countNonzero(dilate(box, { radius: 1, connectivity: 6 }).data), 125 + 6 * 25);
    const ball = dilate(box, { radiusMm: 1 });
    assert.equal(countNonzero(ball.data), 125 + 6 * 25);
    assert.ok(ball.data instanceof Uint8Array);
  });

  it('does not erode from outside the volume', () => {
    const full = cube([6, 6, 6], 0, 5);
    assert.equal(countNonzero(erode(full, { radius: 2 }).data), 216);
    assert.equal(countNonzero(erode(full, { radiusMm: 3 }).data), 216);
    const touching = cube([8, 8, 8], 0, 3);
    assert.equal(countNonzero(erode(touching, { radius: 1 }).data), 27);
  });

  it('matches direct offset loops on random masks, anisotropic spacing', () => {
    const elements: StructuringElement[] = [
      { radius: 1 },
      { radius: 2, connectivity: 6 },
      { radiusMm: 2.1 },
      { radiusMm: 1.5 },
      { radius: 2 },
    ];
    for (const seed of [4, 5]) {
      const rand = random(seed);
      const mask = filled([12, 10, 9], diagonalAffine([0.7, 1, 1.5]), new Uint8Array(1080), () =>
        rand() < 0.12 ? 1 : 0,
      );
      const dense = filled([12, 10, 9], diagonalAffine([0.7, 1, 1.5]), new Uint8Array(1080), () =>
        rand() < 0.85 ? 1 : 0,
      );
      for (const element of elements) {
        assert.deepEqual(
          dilate(mask, element).data,
          reference(mask, element, true),
          `dilate ${JSON.stringify(element)}`,
        );
        assert.deepEqual(
          erode(dense, element).data,
          reference(dense, element, false),
          `erode ${JSON.stringify(element)}`,
        );
      }
    }
  });

  it('gives empty masks for empty input and rejects bad radii', () => {
    const empty = cube([5, 5, 5], 9, 9);
    assert.equal(countNonzero(dilate(empty, { radius: 2 }).data), 0);
    assert.throws(() => dilate(point, { radius: 1.5 }));
    assert.throws(() => dilate(point, { radiusMm: -1 }));
  });
});

describe('the mm ball on a sheared grid (a gantry tilt of 20 degrees)', () => {
  const tilt = (20 * Math.PI) / 180;
  // 1 x 1 mm pixels whose columns rise 20 degrees, slices 3 mm apart along the table
  const tilted = [1, 0, 0, 0, 0, Math.cos(tilt), 0, 0, 0, Math.sin(tilt), 3, 0, 0, 0, 0, 1];
  const dims: Dims3 = [9, 13, 7];
  const centre = [4, 6, 3];
  const point = filled(dims, tilted, new Uint8Array(9 * 13 * 7), (i, j, k) =>
    i === centre[0] && j === centre[1] && k === centre[2] ? 1 : 0,
  );
  /** |A d| of an offset, by hand: (di, dj cos, dj sin + 3 dk). */
  const length = (d: number[]) => Math.hypot(d[0], d[1] * Math.cos(tilt), d[1] * Math.sin(tilt) + 3 * d[2]);

  it('holds the offsets truly within the radius, not the voxel-size ellipsoid', () => {
    const ball = dilate(point, { radiusMm: 3.2 });
    const has = (d: number[]) => at(ball, centre[0] + d[0], centre[1] + d[1], centre[2] + d[2]) === 1;
    // (0, -2, 1): (0, -1.88, 2.32), 2.98 mm: in (the voxel sizes said sqrt(4 + 9) = 3.61 mm: out)
    assert.ok(Math.abs(length([0, -2, 1]) - 2.983) < 1e-3 && has([0, -2, 1]) && has([0, 2, -1]));
    // (0, 1, 1): (0, 0.94, 3.34), 3.47 mm: out (the voxel sizes said sqrt(1 + 9) = 3.16 mm: in)
    assert.ok(Math.abs(length([0, 1, 1]) - 3.472) < 1e-3 && !has([0, 1, 1]) && !has([0, -1, -1]));
    // (0, -1, 1): 2.82 mm and (0, 0, 1): 3 mm in; (0, -3, 1): 3.44 mm out
    assert.ok(has([0, -1, 1]) && has([0, 0, 1]) && !has([0, -3, 1]));
    let count = 0;
    for (let c = -3; c <= 3; c++)
      for (let b = -6; b <= 6; b++)
        for (let a = -4; a <= 4; a++) {
          const inside = length([a, b, c]) <= 3.2;
          count += inside ? 1 : 0;
          assert.equal(has([a, b, c]), inside, `offset ${a} ${b} ${c}: ${length([a, b, c])} mm`);
        }
    assert.equal(countNonzero(ball.data), count);
  });

  it('erodes by the same offsets, and keeps the input grid', () => {
    const rand = random(7);
    const dense = filled(dims, tilted, new Uint8Array(9 * 13 * 7), () => (rand() < 0.9 ? 1 : 0));
    const eroded = erode(dense, { radiusMm: 2.5 });
    assert.deepEqual(eroded.affine, tilted);
    const [nx, ny, nz] = dims;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          let keep = at(dense, i, j, k) === 1;
          for (let c = -nz; c < nz && keep; c++)
            for (let b = -ny; b < ny && keep; b++)
              for (let a = -nx; a < nx && keep; a++) {
                const [x, y, z] = [i + a, j + b, k + c];
                if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) continue;
                if (length([a, b, c]) <= 2.5 && at(dense, x, y, z) === 0) keep = false;
              }
          assert.equal(at(eroded, i, j, k), keep ? 1 : 0, `voxel ${i} ${j} ${k}`);
        }
  });
});

describe('opening and closing', () => {
  it('opening removes a thin spur, closing bridges a one-voxel gap', () => {
    const spur = cube([16, 16, 16], 3, 8);
    for (let i = 9; i < 14; i++) spur.data[i + 16 * (5 + 16 * 5)] = 1;
    const opened = opening(spur, { radius: 1 });
    assert.equal(countNonzero(opened.data), 216);
    assert.equal(at(opened, 11, 5, 5), 0);

    const gap = filled([16, 9, 9], unit, new Uint8Array(16 * 81), (i, j, k) =>
      ((i >= 2 && i <= 6) || (i >= 8 && i <= 12)) && j >= 2 && j <= 6 && k >= 2 && k <= 6 ? 1 : 0,
    );
    const closed = closing(gap, { radius: 1 });
    assert.equal(countNonzero(closed.data), 11 * 25);
    assert.equal(at(closed, 7, 4, 4), 1);
  });

  it('closing never removes and opening never adds voxels, even at the border', () => {
    const rand = random(9);
    const mask = filled([10, 10, 10], unit, new Uint8Array(1000), () => (rand() < 0.5 ? 1 : 0));
    const closed = closing(mask, { radiusMm: 1.5 });
    const opened = opening(mask, { radius: 1 });
    for (let i = 0; i < 1000; i++) {
      if (mask.data[i]) assert.equal(closed.data[i], 1);
      else assert.equal(opened.data[i], 0);
    }
  });
});

describe('fillHoles', () => {
  const centre = 8;
  const shell = filled([17, 17, 17], unit, new Uint8Array(17 ** 3), (i, j, k) => {
    const r2 = (i - centre) ** 2 + (j - centre) ** 2 + (k - centre) ** 2;
    return r2 <= 25 && r2 > 9 ? 1 : 0;
  });

  it('fills a hollow sphere into a solid ball', () => {
    let solid = 0;
    for (let i = 0; i < shell.data.length; i++) {
      const x = i % 17;
      const y = Math.floor(i / 17) % 17;
      const z = Math.floor(i / 289);
      if ((x - centre) ** 2 + (y - centre) ** 2 + (z - centre) ** 2 <= 25) solid++;
    }
    const filledBall = fillHoles(shell);
    assert.equal(countNonzero(filledBall.data), solid);
    assert.equal(at(filledBall, centre, centre, centre), 1);
  });

  it('leaves cavities open to the border, and fills them slice by slice', () => {
    // A tube along k: its lumen reaches the k = 0 and k = last faces, so it is no 3D hole.
    const tube = filled([9, 9, 6], unit, new Uint8Array(486), (i, j) => {
      const r2 = (i - 4) ** 2 + (j - 4) ** 2;
      return r2 <= 9 && r2 > 1 ? 1 : 0;
    });
    assert.deepEqual(fillHoles(tube).data, tube.data);
    const slices = fillHolesSlices(tube, 2);
    assert.equal(at(slices, 4, 4, 0), 1);
    assert.equal(countNonzero(slices.data), countNonzero(tube.data) + 5 * 6);
    // Along i the tube's slices are strips with no enclosed background.
    assert.deepEqual(fillHolesSlices(tube, 0).data, tube.data);
  });
});

/**
 * A minimal PNG encoder (8-bit RGB or RGBA, no interlace), enough for previews.
 * Written here rather than pulled in as a dependency: the format needs only a CRC-32, a zlib stream and
 * a few chunk headers. The zlib stream is fflate's, plain JavaScript, so the same encoder writes
 * preview.png on Node and in the browser's engine worker.
 */
import { zlibSync, type DeflateOptions } from 'fflate';
import { crc32 } from '../core/crc32.js';

export { crc32 };

export type PngChannels = 3 | 4;

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major, top row first, `channels` bytes per pixel. */
  pixels: Uint8Array;
  channels: PngChannels;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COLOR_TYPE: Record<PngChannels, number> = { 3: 2, 4: 6 };

/** Encodes an 8-bit RGB or RGBA image as PNG bytes. */
export function encodePng(image: RgbImage, compressionLevel: DeflateOptions['level'] = 6): Uint8Array {
  const { width, height, pixels, channels } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`PNG size ${width}x${height} must be positive whole numbers`);
  }
  if (pixels.length !== width * height * channels) {
    throw new Error(
      `PNG pixels hold ${pixels.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`,
    );
  }
  const chunks = [
    chunk('IHDR', headerData(width, height, channels)),
    chunk('IDAT', zlibSync(filteredScanlines(image), { level: compressionLevel })),
    chunk('IEND', new Uint8Array(0)),
  ];
  return concat([Uint8Array.from(SIGNATURE), ...chunks]);
}

function headerData(width: number, height: number, channels: PngChannels): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data[8] = 8; // bit depth
  data[9] = COLOR_TYPE[channels];
  // compression 0 (deflate), filter method 0, interlace 0: already zero
  return data;
}

/**
 * Each scanline gets filter type 1 ("Sub": the difference to the pixel on the left). Previews are
 * mostly flat regions, where Sub turns rows into runs of zeros that deflate packs well, at the cost
 * of one subtraction per byte (choosing adaptively per row would be slower for little gain).
 */
function filteredScanlines({ width, height, pixels, channels }: RgbImage): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const source = y * stride;
    const target = y * (stride + 1);
    out[target] = 1;
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? pixels[source + x - channels] : 0;
      out[target + 1 + x] = (pixels[source + x] - left) & 0xff;
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  // The CRC covers the chunk type and data, not the length.
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

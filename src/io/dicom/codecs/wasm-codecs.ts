/**
 * The Cornerstone WASM decoders (CharLS, OpenJPEG, OpenJPH, libjpeg-turbo), each loaded on first use
 * with a dynamic import so that a series without compressed pixels never loads one, and so that a
 * bundler can split them out for the browser.
 */

/** Frame header as the decoders report it after decoding. */
interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
}

/** The embind decoder class every Cornerstone codec exposes under its own name. */
interface WasmDecoder {
  /** A view of WASM memory of `length` bytes, to copy the encoded frame into. */
  getEncodedBuffer(length: number): Uint8Array;
  /** A view of WASM memory holding the decoded samples (little endian), valid until the next call. */
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  /** Frees the decoder's WASM memory: embind objects are not garbage collected. */
  delete(): void;
}

type WasmDecoderClass = new () => WasmDecoder;

export type WasmCodecName = 'JPEG-LS' | 'JPEG 2000' | 'HTJ2K' | 'JPEG';

export interface WasmDecoded {
  /** Decoded samples, little endian, copied out of WASM memory. */
  bytes: Uint8Array;
  info: WasmFrameInfo;
}

const loaders: Record<WasmCodecName, () => Promise<WasmDecoderClass>> = {
  'JPEG-LS': () => import('@cornerstonejs/codec-charls/decodewasmjs').then((m) => decoderClass(m, 'JpegLSDecoder')),
  'JPEG 2000': () => import('@cornerstonejs/codec-openjpeg/decodewasmjs').then((m) => decoderClass(m, 'J2KDecoder')),
  HTJ2K: () => import('@cornerstonejs/codec-openjph/wasmjs').then((m) => decoderClass(m, 'HTJ2KDecoder')),
  JPEG: () =>
    import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs').then((m) => decoderClass(m, 'JPEGDecoder')),
};

const loaded = new Map<WasmCodecName, Promise<WasmDecoderClass>>();

interface CodecModuleImport {
  default: (options: { print: (line: string) => void; printErr: (line: string) => void }) => Promise<unknown>;
}

/** Lines the codecs print (OpenJPEG logs every header it reads); kept for the next error message. */
const codecLog: string[] = [];

function keepLine(line: string): void {
  codecLog.push(line);
  if (codecLog.length > 20) codecLog.shift();
}

async function decoderClass(imported: CodecModuleImport, name: string): Promise<WasmDecoderClass> {
  // Their output goes nowhere near stdout, which may be carrying the CLI's JSON.
  const module = (await imported.default({ print: keepLine, printErr: keepLine })) as Record<string, unknown>;
  const found = module[name];
  if (typeof found !== 'function') throw new Error(`the codec module has no ${name} class`);
  return found as WasmDecoderClass;
}

/** Decodes one frame; throws whatever the codec throws (the caller names the file and frame). */
export async function decodeWithWasm(codec: WasmCodecName, encoded: Uint8Array): Promise<WasmDecoded> {
  let pending = loaded.get(codec);
  if (!pending) {
    pending = loaders[codec]();
    // A failed load (a missing package) is retried next time instead of being remembered.
    pending.catch(() => loaded.delete(codec));
    loaded.set(codec, pending);
  }
  const Decoder = await pending.catch((error: unknown) => {
    throw new WasmCodecLoadError(codec, error);
  });
  const decoder = new Decoder();
  codecLog.length = 0;
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    return { bytes: decoder.getDecodedBuffer().slice(), info };
  } catch (error) {
    throw new WasmCodecError(
      error,
      codecLog.filter((line) => /error|fail|invalid/i.test(line)),
    );
  } finally {
    decoder.delete();
  }
}

/**
 * The codec's WebAssembly could not be loaded or started (a page opened from a file cannot fetch it, a
 * browser without WebAssembly): the pixel data may be fine, this platform cannot decode them.
 */
export class WasmCodecLoadError extends Error {
  constructor(codec: WasmCodecName, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `the ${codec} decoder (WebAssembly) cannot be loaded here (${why}); in the viewer, uncheck "Run in this browser" to read the series on the server`,
    );
  }
}

/** A codec failure with what the codec printed about it (Emscripten throws bare numbers for C++ exceptions). */
export class WasmCodecError extends Error {
  constructor(cause: unknown, log: string[]) {
    const what = cause instanceof Error ? cause.message : typeof cause === 'number' ? '' : String(cause);
    super([what, ...log].filter((part) => part !== '').join('; ') || 'the decoder stopped without a message');
  }
}

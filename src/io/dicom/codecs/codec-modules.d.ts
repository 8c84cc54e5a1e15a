/**
 * The decoder packages ship no TypeScript types. Each Cornerstone codec is an Emscripten/embind
 * build whose default export is a factory resolving to the WASM module; it is typed `unknown` here
 * and described once, in ./wasm-codecs.ts, where it is used.
 */
/** Emscripten module options: where its stdout and stderr lines go. */
interface EmscriptenOptions {
  print?: (line: string) => void;
  printErr?: (line: string) => void;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjph/wasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<unknown>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** The SOF header of the last stream decoded. */
    frame: { dimX: number; dimY: number; numComp: number; precision: number };
    /** Decodes a lossless JPEG stream into samples of `numBytes` bytes (1 or 2), in host order. */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  }
}

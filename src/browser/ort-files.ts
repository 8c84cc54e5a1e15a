/**
 * onnxruntime-web's WebAssembly builds the viewer serves beside the engine worker (scripts/build-viewer.ts
 * copies them; web-network.ts loads one): each is a .wasm and the JavaScript glue (.mjs) that the engine
 * worker and each of its WebAssembly threads load. 'wasm' is the WebAssembly-only build (12 MB);
 * 'webgpu' the one with onnxruntime's WebGPU execution provider compiled in (asyncify, 25 MB), which also
 * runs the 'wasm' provider and is fetched only when a run asks for the GPU and the browser has one.
 */
export const ORT_FILES = {
  wasm: { wasm: 'ort-wasm-simd-threaded.wasm', mjs: 'ort-wasm-simd-threaded.mjs' },
  webgpu: { wasm: 'ort-wasm-simd-threaded.asyncify.wasm', mjs: 'ort-wasm-simd-threaded.asyncify.mjs' },
} as const;

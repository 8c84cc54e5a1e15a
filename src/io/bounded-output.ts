/**
 * What every bounded inflation keeps of its output (Node streams in bounded-read.ts, the web's
 * DecompressionStream in buffer-source.ts, fflate in inflate-raw.ts): the first `keep` bytes, with all
 * of the output counted against an optional ceiling. Each caller stops its own stream and words its
 * own refusal; the counting is here once. Imports nothing from Node: browser bundles use it.
 */

/** After a chunk: read on, stop (the kept bytes are all there is to want), or refuse (past the ceiling). */
export type OutputState = 'more' | 'enough' | 'over';

export class BoundedOutput {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  /** Bytes of output seen, kept or not. */
  total = 0;

  /**
   * `keep`: bytes to keep. `ceiling`: the most the whole output may be; without one the output is
   * wanted only up to `keep` (a header probe) and the state turns 'enough' there.
   */
  constructor(
    readonly keep: number,
    readonly ceiling?: number,
  ) {}

  push(chunk: Uint8Array): OutputState {
    this.total += chunk.length;
    if (this.ceiling !== undefined && this.total > this.ceiling) return 'over';
    if (this.kept < this.keep) {
      const part = chunk.subarray(0, this.keep - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
    return this.ceiling === undefined && this.kept >= this.keep ? 'enough' : 'more';
  }

  /** The kept bytes: the one chunk as it came, or the chunks copied once into a buffer of their own. */
  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.kept);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

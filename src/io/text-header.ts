/** Finds the end of an ASCII header that ends with a blank line; -1 when there is none. */
export function findBlankLine(
  bytes: Uint8Array,
  limit = 1 << 20,
): { headerEnd: number; dataStart: number } | undefined {
  const end = Math.min(bytes.length, limit);
  for (let i = 0; i + 1 < end; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return { headerEnd: i, dataStart: i + 2 };
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { headerEnd: i, dataStart: i + 3 };
  }
  return undefined;
}

export function parseNumberList(text: string): number[] {
  return text
    .trim()
    .split(/[\s,]+/)
    .filter((s) => s.length > 0)
    .map(Number);
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, progressDisplay } from '../../src/cli/progress.js';
import type { CommandIO } from '../../src/cli/io.js';

/** A display on a fake clock; `lines` collects what it wrote. */
function plain() {
  const lines: string[] = [];
  let now = 0;
  const io: CommandIO = { stdout: () => undefined, stderr: (s) => lines.push(s) };
  const display = progressDisplay(io, () => now);
  return { lines, display, at: (ms: number) => (now = ms) };
}

describe('CLI progress', () => {
  it('off a terminal: a line per stage and at most one every 10 s, with the time left', () => {
    const { lines, display, at } = plain();
    display.report({ stage: 'read', fraction: 0 });
    display.report({ stage: 'preprocess', fraction: 0, message: 'body-ct: preparing the image' });
    // a 200 s inference reporting every percent
    at(1000);
    for (let p = 0; p <= 100; p++) {
      at(1000 + p * 2000);
      display.report({ stage: 'inference', fraction: p / 100, message: 'body-ct: 5 queries' });
    }
    assert.deepEqual(lines.slice(0, 3), [
      'read',
      'preprocess body-ct: preparing the image',
      'inference body-ct: 5 queries',
    ]);
    const during = lines.slice(3);
    assert.equal(during.length, 19, during.join('\n'));
    assert.equal(during[0], 'inference body-ct: 5 queries 5 %, about 3 min 10 s left');
    assert.equal(during.at(-1), 'inference body-ct: 5 queries 95 %, about 10 s left');
  });

  it('on a terminal: a bar per stage with the stage and the time left', async () => {
    let written = '';
    const terminal = {
      isTTY: true,
      columns: 100,
      write: (chunk: string) => {
        written += chunk;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    let now = 0;
    const display = progressDisplay({ stdout: () => undefined, stderr: () => undefined, terminal }, () => now);
    display.report({ stage: 'inference', fraction: 0, message: 'body-ct: 1 query' });
    now = 10_000;
    display.report({ stage: 'inference', fraction: 0.5, message: 'body-ct: 1 query' });
    // the bar redraws 5 times a second
    await new Promise((resolve) => setTimeout(resolve, 400));
    display.stop();
    assert.match(written, /100% \| done \| inference/, 'a finished stage is left full');
    assert.match(written, /50% \| 10 s left \| inference body-ct: 1 query/);
    assert.match(written, /█{12}░{12} 50%/, 'a half-full bar');
  });

  it('durations read as people say them', () => {
    assert.equal(formatDuration(4_400), '4 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    assert.equal(formatDuration(3_720_000), '1 h 2 min');
  });
});

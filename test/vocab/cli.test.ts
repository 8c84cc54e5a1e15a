import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['vocab', ...args], { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('medparse vocab', () => {
  it('resolve --json prints one entry per prompt in the documented shape', async () => {
    const { code, out } = await run(['resolve', 'liver, banana and both kidneys', '--json']);
    assert.equal(code, 0);
    const parsed = JSON.parse(out) as {
      prompts: Array<{ text: string; status: string; concepts: Array<Record<string, unknown>>; suggestions: string[] }>;
    };
    assert.deepEqual(
      parsed.prompts.map((p) => [p.text, p.status]),
      [
        ['liver', 'resolved'],
        ['banana', 'unknown'],
        ['both kidneys', 'resolved'],
      ],
    );
    assert.deepEqual(parsed.prompts[0].concepts[0], {
      id: 'liver',
      name: 'liver',
      laterality: null,
      snomed: '10200004',
    });
    assert.deepEqual(parsed.prompts[1].concepts, []);
    assert.ok(Array.isArray(parsed.prompts[1].suggestions));
  });

  it('resolve prints readable lines', async () => {
    const { code, out } = await run(['resolve', 'the IVC']);
    assert.equal(code, 0);
    assert.match(out, /"the IVC"\s+resolved\s+inferior_vena_cava/);
  });

  it('search and list filter the vocabulary', async () => {
    const search = await run(['search', 'carotid']);
    assert.equal(search.code, 0);
    assert.match(search.out, /internal_carotid_artery/);
    const list = await run(['list', '--category', 'lesion', '--modality', 'MR', '--json']);
    const rows = (JSON.parse(list.out) as { concepts: Array<{ category: string; modalities: string[] }> }).concepts;
    assert.ok(rows.length > 5);
    assert.ok(rows.every((r) => r.category === 'lesion' && r.modalities.includes('MR')));
  });

  it('exits 2 with one line on bad usage', async () => {
    for (const args of [
      ['frobnicate'],
      ['resolve'],
      ['search'],
      ['list', '--category', 'fruit'],
      ['resolve', 'x', '--bogus'],
      [],
    ]) {
      const { code, err } = await run(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(err.split('\n').length, 1, err);
    }
  });
});

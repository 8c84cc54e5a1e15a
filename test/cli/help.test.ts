import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { runCli } from '../../src/cli/main.js';
import { buildProgram } from '../../src/cli/program.js';
import { PACKAGE_ROOT, packageVersion } from '../../src/core/paths.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s + '\n'), stderr: (s) => (err += s + '\n') });
  return { code, out, err };
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

const program = buildProgram({ io: { stdout: () => undefined, stderr: () => undefined }, code: 0 }).program;

/**
 * Flags the README's command and service sections name that are not medparse's: npm run eval's, a typo shown
 * on purpose, and chromium's flag for WebGPU (browser support).
 */
const NOT_CLI_FLAGS = new Set(['--datasets', '--rotate', '--jsn', '--enable-unsafe-webgpu']);

describe('medparse --help, --version and suggestions', () => {
  it('every command and every option has a description', () => {
    for (const command of allCommands(program)) {
      assert.ok(command.description() || command.summary(), `${command.name()} is described`);
      for (const option of command.options)
        assert.ok(option.description.length > 10, `${command.name()} ${option.flags} is described`);
    }
  });

  it('every option the README documents exists, and --help lists it', async () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const sections = readme.slice(readme.indexOf('## Commands'), readme.indexOf('## Inputs'));
    const documented = new Set(sections.match(/--[a-z][a-z-]*/g));
    const helps = await Promise.all(allCommands(program).map((c) => run([...commandPath(c), '--help'])));
    const listed = helps.map((h) => h.out).join('\n');
    for (const flag of documented) {
      if (NOT_CLI_FLAGS.has(flag)) continue;
      assert.ok(new RegExp(`${flag}\\b`).test(listed), `${flag} (in the README) is an option of some command`);
    }
    assert.ok(helps.every((h) => h.code === 0));
  });

  it('each command has its own --help with its options', async () => {
    const r = await run(['segment', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Usage: medparse segment \[options\] \[image\]/);
    assert.match(r.out, /-p, --prompts <text> +what to look for/);
    assert.match(r.out, /--memory-limit-gb <gb> +refuse a request/);
    assert.doesNotMatch(r.out, /cuda/);
    const help = await run(['help', 'vocab']);
    assert.equal(help.code, 0);
    assert.match(help.out, /resolve \[options\] <text\.\.\.>/);
  });

  it('--version prints the version of package.json', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.out.trim(), packageVersion());
    }
  });

  it('a misspelt command or option is wrong usage with a suggestion, in one line', async () => {
    const command = await run(['segmnt']);
    assert.equal(command.code, 2);
    assert.equal(
      command.err.trim(),
      "medparse: unknown command 'segmnt' (did you mean segment?); usage: medparse [options] [command] (--help lists the options)",
    );
    const option = await run(['info', '--demo', '--jsn']);
    assert.equal(option.code, 2);
    assert.equal(option.err.trim().split('\n').length, 1);
    assert.match(
      option.err,
      /unknown option '--jsn' \(did you mean --json\?\); usage: medparse info \[options\] \[image\]/,
    );
    const sub = await run(['vocab', 'reslove', 'liver']);
    assert.equal(sub.code, 2);
    assert.match(sub.err, /unknown command 'reslove' \(did you mean resolve\?\); usage: medparse vocab/);
  });

  it('no command shows the overview and is wrong usage', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.out, /Commands:\n {2}segment/);
  });
});

function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

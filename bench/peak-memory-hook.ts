/**
 * Loaded with `node --import` by the end-to-end bench: writes the process's peak resident memory (KiB)
 * to the file named by MEDPARSE_BENCH_PEAK_FILE when it exits, so a fresh CLI process can be measured
 * without changing the CLI.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.MEDPARSE_BENCH_PEAK_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS)));

/**
 * How the CLI shows a long run's progress (events from src/core/progress.ts). On a terminal: a bar per
 * stage with the time left (cli-progress), each finished stage's bar left on its line. Otherwise (a log,
 * a pipe, CI): one line when a stage starts and at most one line every 10 s within it, so a 200 s run
 * writes a dozen lines rather than one per percent.
 */
import cliProgress from 'cli-progress';
import type { ProgressCallback, ProgressEvent } from '../core/progress.js';
import type { CommandIO } from './io.js';

export interface ProgressDisplay {
  report: ProgressCallback;
  /** Ends the current stage (its bar shown complete); call before printing results. */
  stop: () => void;
}

/** Milliseconds between lines within one stage when not on a terminal. */
export const PLAIN_INTERVAL_MS = 10_000;

/** The stage being shown: its label (stage and message) and when its first event came. */
interface Stage {
  key: string;
  startedAt: number;
}

export function progressDisplay(io: CommandIO, now: () => number = Date.now): ProgressDisplay {
  return io.terminal ? barDisplay(io.terminal, now) : plainDisplay(io, now);
}

function stageLabel(event: ProgressEvent): string {
  return event.message ? `${event.stage} ${event.message}` : event.stage;
}

/**
 * Time left in the current stage, from how long it took so far: undefined until the stage has run a
 * second and done 2 %, when the rate says little.
 */
export function timeLeftMs(stage: Stage, fraction: number, at: number): number | undefined {
  const elapsed = at - stage.startedAt;
  if (fraction >= 1) return 0;
  if (fraction < 0.02 || elapsed < 1000) return undefined;
  return (elapsed * (1 - fraction)) / fraction;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function plainDisplay(io: CommandIO, now: () => number): ProgressDisplay {
  let stage: Stage | undefined;
  let lastLineAt = 0;
  const report = (event: ProgressEvent) => {
    const label = stageLabel(event);
    const at = now();
    if (stage?.key !== label) {
      stage = { key: label, startedAt: at };
      lastLineAt = at;
      io.stderr(label);
      return;
    }
    if (event.fraction >= 1 || at - lastLineAt < PLAIN_INTERVAL_MS) return;
    lastLineAt = at;
    const left = timeLeftMs(stage, event.fraction, at);
    io.stderr(
      `${label} ${Math.round(event.fraction * 100)} %${left === undefined ? '' : `, about ${formatDuration(left)} left`}`,
    );
  };
  return { report, stop: () => undefined };
}

function barDisplay(stream: NodeJS.WriteStream, now: () => number): ProgressDisplay {
  let stage: Stage | undefined;
  let bar: cliProgress.SingleBar | undefined;
  // a stage is over when the next begins or the run ends: its bar is left full, not where it last reported
  const stop = () => {
    bar?.update(100, { left: 'done' });
    bar?.stop();
    bar = undefined;
  };
  const report = (event: ProgressEvent) => {
    const label = stageLabel(event);
    const at = now();
    if (stage?.key !== label) {
      stop();
      stage = { key: label, startedAt: at };
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: '{bar} {percentage}% | {left} | {stage}',
          barsize: 24,
          hideCursor: false,
          clearOnComplete: false,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(100, 0, { stage: label, left: 'estimating' });
    }
    const left = timeLeftMs(stage, event.fraction, at);
    bar?.update(Math.round(event.fraction * 100), {
      stage: label,
      left: left === undefined ? 'estimating' : left === 0 ? 'done' : `${formatDuration(left)} left`,
    });
  };
  return { report, stop };
}

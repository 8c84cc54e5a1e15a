/** Where a command writes; tests pass their own to capture output. */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The terminal stderr is, when it is one: progress is drawn there as a bar instead of written as lines. */
  terminal?: NodeJS.WriteStream;
}

export const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
  terminal: process.stderr.isTTY ? process.stderr : undefined,
};

/** Exit codes: 0 success, 1 a problem with the input, 2 wrong usage, 70 an internal error. */
export const EXIT = { ok: 0, inputError: 1, usage: 2, internal: 70 } as const;

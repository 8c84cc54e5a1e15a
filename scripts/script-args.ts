/**
 * Argument handling for the npm scripts (eval, calibrate): `--help` prints the usage, and an unknown or
 * malformed option (node's parseArgs throws) gives a one-line message and the usage instead of a stack trace.
 */
export function parseScriptArgs<T>(script: string, usage: string, parse: () => T): T {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parse();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`${script}: ${reason}\n${usage}`);
    process.exit(2);
  }
}

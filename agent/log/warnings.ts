// Node's own process warnings (the AWS SDK warns once about the Node version it runs on) leave the process like
// every other line: through the command's logger, in its format (json or pretty), each distinct warning once
// (docs/operations.md "Logs"). Loaded before pino, so main.ts can install it first.

interface WarningSink {
  warn(fields: Record<string, unknown>, message: string): void;
}

let sink: WarningSink | undefined;
const waiting: string[] = [];
const seen = new Set<string>();

/** Replace Node's default warning printer; warnings wait for a logger, or are printed as JSON lines at exit. */
export function captureProcessWarnings(write: (line: string) => void): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const message = `${warning.name}: ${warning.message}`.replace(/\s+/g, ' ').trim();
    if (seen.has(message)) return;
    seen.add(message);
    if (sink) sink.warn({}, message);
    else waiting.push(message);
  });
  process.once('exit', () => {
    for (const message of waiting.splice(0)) write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), component: 'node', msg: message })}\n`);
  });
}

/** From now on, process warnings go to `log` (a `component: node` child of the command's logger). */
export function sendProcessWarningsTo(log: WarningSink): void {
  sink = log;
  for (const message of waiting.splice(0)) log.warn({}, message);
}

// Logs go to stderr as JSON lines (pino), or as short human lines with `log.format: pretty`; stdout is
// reserved for a command's own result (docs/commands.md). Every line carries a `component`.
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Scrubber } from './scrub.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Where lines go; stderr unless a test captures them. */
  stream?: NodeJS.WritableStream;
  /** Removes every held secret value from every line before it is written. */
  scrubber?: Scrubber;
}

/** The root logger; stages take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  // fd 2 written synchronously: a command that exits right after logging loses no line.
  const sink: NodeJS.WritableStream = options.stream ?? (pino.destination({ dest: 2, sync: true }) as unknown as NodeJS.WritableStream);
  const formatted = options.format === 'pretty' ? prettyStream(sink) : sink;
  const stream = options.scrubber ? scrubStream(formatted, options.scrubber) : formatted;
  return pino({ level: options.level, base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, stream);
}

/** Parse each JSON line, scrub its strings, write it on: the last stop before any byte leaves the process. */
function scrubStream(next: NodeJS.WritableStream, scrubber: Scrubber): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        let out: string;
        try {
          out = JSON.stringify(scrubber.scrubDeep(JSON.parse(line)));
        } catch {
          out = scrubber.scrub(line);
        }
        next.write(`${out}\n`);
      }
      done();
    },
  });
}

const fixed = new Set(['level', 'time', 'component', 'msg']);

/** `12:00:01 WARN  [store] msg key=value`: enough for a human at a terminal, no extra dependency. */
function prettyStream(sink: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as Record<string, unknown>;
        const time = typeof record['time'] === 'string' ? record['time'].slice(11, 19) : '';
        const level = (typeof record['level'] === 'string' ? record['level'] : '').toUpperCase().padEnd(5);
        const component = typeof record['component'] === 'string' ? ` [${record['component']}]` : '';
        const extra = Object.entries(record).filter(([key]) => !fixed.has(key)).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
        sink.write(`${time} ${level}${component} ${typeof record['msg'] === 'string' ? record['msg'] : ''}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}\n`);
      }
      done();
    },
  });
}

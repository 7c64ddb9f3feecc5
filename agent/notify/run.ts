// Run one configured notifier of any kind and describe what happened in loggable facts. Anything thrown that
// is not already ERR_NOTIFY is wrapped into it with only an errno code, so no foreign message reaches a log.
import type { Notifier } from '../config/notifiers.js';
import { AgentError, isAgentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { runCommand } from './command.js';
import type { NotifyDetails } from './common.js';
import { errorCode } from './common.js';
import { sendHttp } from './http.js';
import type { SignalOptions } from './signal.js';
import { sendSignal } from './signal.js';
import { touchFile } from './touch.js';

/** One parsed notifier from the config's `notifiers` map (durations already in ms). */
export type NotifierConfig = Notifier;
export type NotifierKind = 'signal' | 'command' | 'http' | 'touch';

export interface RunNotifierOptions {
  clock: Clock;
  secretValues: () => Iterable<string>;
  /** Seams for the signal notifier (fake /proc, recorded kills). */
  signal?: SignalOptions;
  /** The command notifier's environment before filtering; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** SIGTERM-to-SIGKILL grace for a timed-out command; default 5 s. */
  killGraceMs?: number;
  /** Pause before the http notifier's retry; default 1 s. */
  retryDelayMs?: number;
}

// Why: logs and metrics name the kind, and the union is told apart by which key is present.
/** Which of the four kinds `config` is. */
export function notifierKind(config: NotifierConfig): NotifierKind {
  if ('signal' in config) return 'signal';
  if ('command' in config) return 'command';
  if ('http' in config) return 'http';
  return 'touch';
}

// Why: the one switch over kinds, so the dispatcher stays about timing and results only.
/** Run `config` once; resolves with facts for the log line, throws AgentError ERR_NOTIFY on any failure. */
export async function runNotifier(config: NotifierConfig, options: RunNotifierOptions): Promise<NotifyDetails> {
  try {
    if ('signal' in config) {
      const { pids } = await sendSignal(config, options.signal);
      return { signal: config.signal, pids: pids.join(',') };
    }
    if ('command' in config) {
      const { exitCode, stdoutBytes, stderrBytes, envDropped } = await runCommand(config, {
        clock: options.clock,
        secretValues: options.secretValues,
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
      });
      return { program: config.command[0] ?? '', exitCode, stdoutBytes, stderrBytes, envDropped: envDropped.join(',') };
    }
    if ('http' in config) {
      const retry = options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs };
      const { status, attempts } = await sendHttp(config, { clock: options.clock, ...retry });
      return { status, attempts };
    }
    const { created } = await touchFile(config.touch, { clock: options.clock });
    return { path: config.touch, created };
  } catch (error) {
    if (isAgentError(error, 'ERR_NOTIFY')) throw error;
    throw new AgentError('ERR_NOTIFY', `${notifierKind(config)} notifier failed unexpectedly: ${errorCode(error)}`);
  }
}

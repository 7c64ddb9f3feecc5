// The agent in-process with a fake clock and a hand-fired schedule (test/agent.test.ts, test/agent-notify.test.ts):
// files, templates and notifiers are real, so retry and notification rules are checked exactly.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { Agent } from '../../agent/agent.js';
import { FakeClock, sequence } from './fake-clock.js';
import { scratch } from './cli.js';

export interface Harness {
  agent: Agent;
  clock: FakeClock;
  dir: string;
  logs: () => string;
  tick: () => void;
}

export async function harness(t: ExecutionContext, files: Record<string, string>, configLines: string[]): Promise<Harness> {
  const { dir, cleanup } = await scratch({
    ...files,
    'config.yaml': ['templates: ./templates', 'output: ./out', 'backend: file', 'file: { path: ./secrets.yaml }', 'listen: ""', 'splay: 0s', 'retry: { min: 1s, max: 8s }', 'log: { level: debug }', ...configLines, ''].join('\n'),
  });
  const chunks: string[] = [];
  const logStream = new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk.toString('utf8')); done(); } });
  const clock = new FakeClock();
  let fire = (): void => undefined;
  const agent = new Agent({
    io: { argv: [], env: {}, cwd: dir, stdout: logStream, stderr: logStream, logStream },
    flags: { config: join(dir, 'config.yaml') },
    clock,
    random: sequence(0.5),
    cronFactory: (_expression, tick) => {
      fire = tick;
      return { stop: () => undefined };
    },
    watchDebounceMs: 10,
  });
  t.teardown(async () => {
    await agent.stop();
    await cleanup();
  });
  return { agent, clock, dir, logs: () => chunks.join(''), tick: () => { fire(); } };
}

// No secret value ever reaches a log line, an outcome reason or an error (message, details, cause), across
// every path that reads, fails, falls back or writes.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Outcome, SecretRef } from '../../agent/backends/backend.js';
import { isAgentError } from '../../agent/errors.js';
import { emulated, fixture, onEmulator } from './aws/harness.js';

/** Everything a failure exposes as text: message, details, and the messages of its causes. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message);
    if (isAgentError(current)) parts.push(JSON.stringify(current.details));
  }
  return parts.join('\n');
}

(onEmulator ? test : test.skip)('no secret value appears in any log line, reason or error of the backend', async (t) => {
  const f = await fixture(t);
  const secret = (): string => `V4LUE-${randomBytes(6).toString('hex')}`;
  const values = { key: secret(), other: secret(), plain: secret(), notJson: secret(), rotated: secret(), created: secret(), binaryLike: secret() };
  await f.seed('exchange/binance', { api_key: values.key, api_secret: values.other });
  await f.seed('monitoring/sentry_dsn', values.plain);
  await f.seed('broken', `{"api_key": "${values.notJson}"`);
  await f.seed('binary', new Uint8Array([0xff, ...Buffer.from(values.binaryLike)]));
  emulated(f).faults.deny.add('dsta/denied');
  const texts: string[] = [];
  const record = (outcome: Outcome | undefined): void => { if (outcome && outcome.status !== 'found') texts.push(outcome.status === 'error' ? outcome.error.message : outcome.reason ?? ''); };
  const capture = async (run: () => Promise<unknown>): Promise<void> => {
    try {
      const result = await run();
      if (result instanceof Map) for (const outcome of result.values()) record(outcome as Outcome);
      else if (result && typeof result === 'object' && 'status' in result) record(result as Outcome);
    } catch (error) {
      texts.push(exposed(error));
    }
  };
  const refs: SecretRef[] = [
    { kind: 'value', path: 'exchange/binance/api_key' }, { kind: 'map', path: 'exchange/binance' }, { kind: 'value', path: 'exchange/binance/missing' },
    { kind: 'value', path: 'monitoring/sentry_dsn' }, { kind: 'value', path: 'broken/api_key' }, { kind: 'map', path: 'broken' },
    { kind: 'value', path: 'binary' }, { kind: 'value', path: 'denied/k' }, { kind: 'value', path: 'nowhere/k' },
  ];
  const backend = f.backend();
  await capture(() => backend.fetchMany(refs));
  for (const ref of refs) await capture(() => backend.fetch(ref));
  emulated(f).faults.denyBatch = true;
  await capture(() => f.backend().fetchMany(refs));
  await capture(() => backend.putValue('exchange/binance/api_key', values.rotated));
  await capture(() => backend.putValue('broken/api_key', values.rotated));
  await capture(() => backend.createSecret('exchange/binance', { api_key: values.created }));
  await capture(() => backend.createSecret('broken', { api_key: values.created }, { merge: true }));
  await capture(() => backend.describe('exchange/binance/api_key'));
  emulated(f).faults.serverErrors = Infinity;
  await capture(() => backend.fetchMany(refs));
  await capture(() => backend.putValue('monitoring/sentry_dsn', values.rotated));
  t.true(f.logs.length >= 1, 'the fallback was logged');
  t.true(texts.length >= 20, `collected ${texts.length} reasons and errors`);
  const everything = [...f.logs, ...texts].join('\n');
  for (const [name, value] of Object.entries(values)) t.false(everything.includes(value), `${name} leaked`);
});

import { readFile } from 'node:fs/promises';
import test from 'ava';
import { AgentError, errorCodes } from '../agent/errors.js';

test('docs/errors.md documents exactly the codes of agent/errors.ts with their exit statuses', async (t) => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
  t.deepEqual(rows, Object.entries(errorCodes).map(([code, { exit }]) => [code, exit]));
});

test('an AgentError exposes its code, its exit status and its cause', (t) => {
  const cause = new Error('inner');
  const error = new AgentError('ERR_CONFIG_INVALID', 'bad', { cause });
  t.is(error.code, 'ERR_CONFIG_INVALID');
  t.is(error.exitCode, 78);
  t.is(error.cause, cause);
  t.is(error.name, 'AgentError');
});

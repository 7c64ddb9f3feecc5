import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FileBackend } from '../../agent/backends/file.js';
import { isAgentError } from '../../agent/errors.js';

async function withFile(text: string, run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-file-'));
  try {
    const path = join(dir, 'secrets.yaml');
    await writeFile(path, text);
    await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const doc = 'exchange:\n  binance:\n    api_key: k1\n    testnet: true\n    port: 5432\n    nested: { a: 1 }\napp:\n  secret_key: s\n';

test('a value path walks the YAML document segment by segment', async (t) => {
  await withFile(doc, async (path) => {
    const backend = new FileBackend({ path });
    t.deepEqual(await backend.fetch({ kind: 'value', path: 'exchange/binance/api_key' }), { status: 'found', data: 'k1' });
    t.deepEqual(await backend.fetch({ kind: 'value', path: 'exchange/binance/testnet' }), { status: 'found', data: 'true' });
    t.deepEqual(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 's' });
  });
});

test('a missing key or secret is not found, not an error', async (t) => {
  await withFile(doc, async (path) => {
    const backend = new FileBackend({ path });
    t.is((await backend.fetch({ kind: 'value', path: 'exchange/binance/nope' })).status, 'not_found');
    t.is((await backend.fetch({ kind: 'value', path: 'exchange/kraken/api_key' })).status, 'not_found');
    t.is((await backend.fetch({ kind: 'map', path: 'database/postgres' })).status, 'not_found');
  });
});

test('inherited object properties are never found', async (t) => {
  await withFile(doc, async (path) => {
    const backend = new FileBackend({ path });
    t.is((await backend.fetch({ kind: 'value', path: 'app/constructor' })).status, 'not_found');
    t.is((await backend.fetch({ kind: 'value', path: 'app/__proto__' })).status, 'not_found');
  });
});

test('a map path returns the scalar keys of the secret as strings', async (t) => {
  await withFile(doc, async (path) => {
    const backend = new FileBackend({ path });
    t.deepEqual(await backend.fetch({ kind: 'map', path: 'exchange/binance' }), {
      status: 'found',
      data: { api_key: 'k1', testnet: 'true', port: '5432' },
    });
  });
});

test('asking for a value where the file holds a map is a data error naming the path', async (t) => {
  await withFile(doc, async (path) => {
    const backend = new FileBackend({ path });
    const error = await t.throwsAsync(backend.fetch({ kind: 'value', path: 'exchange/binance' }));
    t.true(isAgentError(error, 'ERR_BACKEND_DATA'));
    t.regex(error.message, /exchange\/binance/);
  });
});

test('JSON files are read too', async (t) => {
  await withFile('{"app": {"secret_key": "from-json"}}', async (path) => {
    t.deepEqual(await new FileBackend({ path }).fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'from-json' });
  });
});

test('an unparsable file makes the backend unavailable with the line, never the content', async (t) => {
  await withFile('app:\n  secret_key: "s3cr3t-value\n  other: [\n', async (path) => {
    const backend = new FileBackend({ path });
    const outcome = await backend.fetch({ kind: 'value', path: 'app/secret_key' });
    t.is(outcome.status, 'unavailable');
    if (outcome.status === 'unavailable') {
      t.regex(outcome.reason, /cannot parse .*secrets\.yaml:\d+:\d+: a closing quote or bracket is missing \(MISSING_CHAR\)$/);
      t.false(outcome.reason.includes('s3cr3t'));
    }
    t.false(await backend.isAvailable());
  });
});

test('a missing file makes the backend unavailable', async (t) => {
  const backend = new FileBackend({ path: join(tmpdir(), 'sa-does-not-exist', 'secrets.yaml') });
  const outcome = await backend.fetch({ kind: 'value', path: 'a/b' });
  t.deepEqual(outcome.status, 'unavailable');
});

test('a changed file is read again on the next fetch', async (t) => {
  await withFile('app: { secret_key: one }\n', async (path) => {
    const backend = new FileBackend({ path });
    t.deepEqual(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'one' });
    await writeFile(path, 'app: { secret_key: two-longer }\n');
    t.deepEqual(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'two-longer' });
  });
});

// Audit records: one per secret read (not per key reference), with the keys and templates that used it and
// never a value.
import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../../agent/log/logger.js';
import { auditRecords, writeAudit } from '../../agent/log/audit.js';
import type { Resolution } from '../../agent/store/store.js';
import { prepare } from '../helpers/render.js';

const app = prepare('A={{secret "exchange/binance/api_key"}}\nB={{secret "exchange/binance/api_secret"}}\nC={{secret "app/secret_key" backend="file"}}\nD={{secret "exchange/binance/api_kye"}}\n', 'app.env.hbs');
const worker = prepare('{{#each (secrets "exchange/binance")}}{{@key}}={{this}}\n{{/each}}K={{secret "exchange/binance/api_key"}}\n', 'worker.env.hbs');

const binance = { secret: 'exchange/binance', createdAt: '2026-11-01T00:00:00.000Z' };
const resolutions = new Map<string, Resolution>([
  ['*|value:exchange/binance/api_key', { status: 'found', data: 'k-value-1', backend: 'vault', version: '7', meta: binance }],
  ['*|value:exchange/binance/api_secret', { status: 'found', data: 's-value-1', backend: 'vault', version: '7', meta: binance }],
  ['*|map:exchange/binance', { status: 'found', data: { api_key: 'k-value-1', api_secret: 's-value-1' }, backend: 'vault', version: '7', meta: binance }],
  ['file|value:app/secret_key', { status: 'found', data: 'file-value-1', backend: 'file' }],
  ['*|value:exchange/binance/api_kye', { status: 'not_found', tried: ['vault', 'env'] }],
]);

test('one record per secret and outcome, listing the keys and the templates that used it', (t) => {
  t.deepEqual(auditRecords([app, worker], resolutions), [
    { event: 'read', path: 'exchange/binance', keys: ['api_key', 'api_secret', '*'], backend: 'vault', version: '7', templates: ['app.env.hbs', 'worker.env.hbs'], outcome: 'found' },
    { event: 'read', path: 'app', keys: ['secret_key'], backend: 'file', version: undefined, templates: ['app.env.hbs'], outcome: 'found' },
    { event: 'read', path: 'exchange/binance', keys: ['api_kye'], backend: undefined, version: undefined, templates: ['app.env.hbs'], outcome: 'not_found' },
  ]);
});

test('a request with no resolution is audited as failed, and the written lines carry no value', (t) => {
  const missing = auditRecords([prepare('X={{secret "ops/token"}}\n', 'x.env.hbs')], new Map());
  t.like(missing[0], { path: 'ops', keys: ['token'], outcome: 'failed' });
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); done(); } });
  writeAudit(createLogger({ level: 'info', format: 'json', stream }), auditRecords([app, worker], resolutions));
  t.is(lines.length, 3);
  t.like(JSON.parse(lines[0] ?? '{}'), { component: 'audit', audit: true, msg: 'secret read: exchange/binance (found)' });
  t.false(lines.join('\n').includes('value-1'));
});

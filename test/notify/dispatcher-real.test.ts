// The dispatcher running every kind of real notifier at once: real processes, a real HTTP server, real files.
// Failures stop nothing, and no secret value reaches a log line, whichever notifier succeeded or failed.
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotifyDispatcher } from '../../agent/notify/dispatcher.js';
import type { NotifyResult } from '../../agent/notify/dispatcher.js';
import type { NotifierConfig } from '../../agent/notify/run.js';
import { systemClock } from '../../agent/util/clock.js';
import { captureLog, fixtures, startApp, tempDir, uniqueName, waitFor } from './helpers.js';

const SECRETS = ['hunter2-db-password', 'tok-abcdef-123456', 'pa55-word-xyz', 'q-secret-query-value'] as const;
const [DB_PASSWORD, TOKEN, URL_PASSWORD, QUERY_SECRET] = SECRETS;

test('every kind of notifier runs in one call; the failures are logged as ERR_NOTIFY, the rest succeed, and no secret is logged', async (t) => {
  const dir = await tempDir(t);
  const secretFile = join(dir, 'app.env');
  await writeFile(secretFile, `DB_PASSWORD=${DB_PASSWORD}\n`);
  const app = await startApp(t, dir, uniqueName());
  await writeFile(join(dir, 'app.pid'), String(app.pid));

  const authorizations: string[] = [];
  const httpServer = createServer((request, response) => {
    authorizations.push(request.headers.authorization ?? '');
    response.writeHead(request.url?.startsWith('/ok') === true ? 200 : 500).end(`echo ${TOKEN}`);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { httpServer.close(() => { resolve(); }); }));
  const { port } = httpServer.address() as AddressInfo;

  const notifiers: Record<string, NotifierConfig> = {
    echo: { command: ['/bin/sh', '-c', 'cat "$0"; cat "$0" >&2', secretFile], timeout: 30_000 },
    fails: { command: ['/bin/sh', '-c', 'cat "$0"; cat "$0" >&2; exit 7', secretFile], timeout: 30_000 },
    envdump: { command: ['/bin/sh', join(fixtures, 'record.sh'), join(dir, 'child')], timeout: 30_000 },
    hookok: { http: { url: `http://127.0.0.1:${port}/ok`, method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } }, timeout: 10_000 },
    hookfail: { http: { url: `http://ops:${URL_PASSWORD}@127.0.0.1:${port}/fail?token=${QUERY_SECRET}`, method: 'PUT', headers: { 'X-Token': TOKEN } }, timeout: 10_000 },
    mark: { touch: join(dir, '.changed') },
    badmark: { touch: join(dir, 'missing', '.changed') },
    byname: { signal: 'SIGHUP', process: uniqueName(), all: false },
    bypid: { signal: 'SIGHUP', pidFile: join(dir, 'app.pid') },
  };
  const reported: NotifyResult[] = [];
  const { log, text, lines } = captureLog();
  const dispatcher = new NotifyDispatcher({
    notifiers, wait: { min: 0, max: 0 }, log, clock: systemClock, secretValues: () => SECRETS,
    onResult: (result) => { reported.push(result); },
    runOptions: { retryDelayMs: 0, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DB_PASSWORD, HOME: dir } },
  });

  const results = await dispatcher.notify([{ template: 'app.env.hbs', notify: Object.keys(notifiers) }]);
  const outcome = Object.fromEntries(results.map((result) => [result.notifier, result.result]));
  t.deepEqual(outcome, {
    echo: 'success', fails: 'failure', envdump: 'success', hookok: 'success', hookfail: 'failure',
    mark: 'success', badmark: 'failure', byname: 'failure', bypid: 'success',
  });
  t.is(reported.length, Object.keys(notifiers).length);

  // The successes really happened.
  t.true(existsSync(join(dir, '.changed')));
  t.is(await waitFor('the SIGHUP', async () => ((await app.hups()) > 0 ? app.hups() : undefined)), 1);
  t.true(authorizations.includes(`Bearer ${TOKEN}`));
  t.is(authorizations.filter((value) => value.startsWith('Basic ')).length, 2); // hookfail, retried once
  t.false((await readFile(join(dir, 'child.env'), 'utf8')).includes(DB_PASSWORD));

  // The logs say what happened, with counts and codes, and never a value.
  const logged = text();
  for (const secret of SECRETS) t.false(logged.includes(secret), `${secret} appears in the log`);
  for (const result of results) for (const secret of SECRETS) t.false(result.error?.message.includes(secret) ?? false);
  const records = lines();
  t.true(records.every((line) => line['component'] === 'notify'));
  const byName = new Map(records.map((line) => [line['notifier'], line]));
  t.like(byName.get('echo'), { msg: 'notifier ran', kind: 'command', exitCode: 0, stdoutBytes: DB_PASSWORD.length + 13, stderrBytes: DB_PASSWORD.length + 13 });
  t.like(byName.get('fails'), { msg: 'notifier failed', code: 'ERR_NOTIFY', exitCode: 7, error: 'command "/bin/sh" exited with status 7' });
  t.like(byName.get('envdump'), { envDropped: 'DB_PASSWORD' });
  t.like(byName.get('hookfail'), { code: 'ERR_NOTIFY', status: 500, attempts: 2 });
  t.regex(String(byName.get('hookfail')?.['error']), /^http PUT http:\/\/ops:redacted@127\.0\.0\.1:\d+\/fail\?token=redacted answered 500 \(after one retry\)$/);
  for (const name of ['badmark', 'byname']) t.like(byName.get(name), { msg: 'notifier failed', code: 'ERR_NOTIFY' });
});

// A refresh flood against the running agent (docs/design.md "Triggers"): SIGUSR1 and POST /v1/refresh are coalesced
// to at most one cycle per second whatever their rate, so a local loop cannot hammer Vault. Counted at the Vault
// emulator, the only witness that matters.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { eventually, freePort, startAgent } from '../helpers/agent-process.js';
import { scratch } from '../helpers/cli.js';

test('2,000 POST /v1/refresh and 200 SIGUSR1 cause at most one Vault read per second of flood (plus the first)', async (t) => {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.setSecret('app/db', { password: 'flood-value-1' });
  const port = await freePort();
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'DB_PASSWORD={{secret "app/db/password"}}\n' });
  t.teardown(cleanup);
  await writeFile(join(dir, 'config.yaml'), ['templates: ./templates', 'output: ./out', `listen: "127.0.0.1:${port}"`, 'schedule: "0 0 1 1 *"', 'splay: 0s', 'log: { level: error }', ''].join('\n'));
  const agent = startAgent(['--config', join(dir, 'config.yaml')], { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, VAULT_NAMESPACE: 'dsta' });
  t.teardown(() => { agent.killGroup('SIGKILL'); });
  const file = join(dir, 'out/app.env');
  t.true(await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).includes('flood-value-1'), 20_000), agent.stderr());
  const reads = (): number => vault.counters.count({ route: 'kv' });
  const before = reads();
  const started = Date.now();
  const url = `http://127.0.0.1:${port}/v1/refresh`;
  for (let batch = 0; batch < 20; batch++) {
    const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(url, { method: 'POST' }).then((response) => response.status)));
    t.true(answers.every((status) => status === 202));
    for (let i = 0; i < 10; i++) agent.child.kill('SIGUSR1');
  }
  const seconds = (Date.now() - started) / 1000;
  // The flood's last requests join one more cycle; wait until it has read, then nothing more may come.
  vault.setSecret('app/db', { password: 'flood-value-2' });
  t.true(await eventually(async () => (await readFile(file, 'utf8')).includes('flood-value-2'), 20_000), 'the requests that joined the next cycle are served');
  const during = reads() - before;
  t.log(`${during} Vault reads for 2,000 refreshes and 200 SIGUSR1 in ${seconds.toFixed(2)} s`);
  t.true(during <= Math.ceil(seconds) + 2, `${during} reads in ${seconds.toFixed(2)} s`);
  t.true(during >= 1);
});

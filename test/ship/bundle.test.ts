// The bin is an esbuild bundle (scripts/bundle.ts): a run still loads only the backends it uses. The build's
// metafile (dist/bundle-meta.json) says which bundle files hold node-vault and the AWS SDK; a module hook records
// every file the real bin loads.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { cli, needing, root, scratch } from '../helpers/cli.js';

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown> }>;
}

/** The bundle files (absolute paths) holding any input under `prefix`. */
async function filesHolding(prefix: string): Promise<string[]> {
  const meta = JSON.parse(await readFile(join(root, 'dist/bundle-meta.json'), 'utf8')) as Metafile;
  return Object.entries(meta.outputs).filter(([, output]) => Object.keys(output.inputs).some((input) => input.startsWith(prefix))).map(([file]) => join(root, file));
}

const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.SA_LOADED_LOG, url + '\\n');
  return next(url, context);
}
`;

/** `secrets-agent once` as the bin starts it (its shebang's node flags), with a hook logging every file loaded. */
async function onceLoading(dir: string, env: Record<string, string>): Promise<{ code: number; stderr: string; loaded: string[] }> {
  await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const log = join(dir, 'loaded.log');
  await writeFile(log, '');
  const flags = ((await readFile(cli, 'utf8')).split('\n', 1)[0] ?? '').replace(/^#!.*?\bnode\b/, '').trim().split(/\s+/).filter(Boolean);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [...flags, '--import', join(dir, 'register.mjs'), cli, 'once', '--config', join(dir, 'secrets-agent.yaml')], { cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SA_LOADED_LOG: log, ...env }, encoding: 'utf8' }, (error, _stdout, err) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr: err });
    });
  });
  const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean).map((url) => new URL(url).pathname);
  return { code, stderr, loaded };
}

/** dist/agent/main.js is the bundle the metafile describes (a bare `tsc` run puts its own main.js back). */
function bundleBuilt(): boolean {
  const metaFile = join(root, 'dist/bundle-meta.json');
  if (!existsSync(metaFile) || !existsSync(cli)) return false;
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Metafile;
  return meta.outputs['dist/agent/main.js']?.bytes === statSync(cli).size;
}

const maybe = needing(bundleBuilt() ? undefined : 'dist/agent/main.js is not the bundle dist/bundle-meta.json describes: run npm run build');

maybe('the bundle keeps node-vault and the AWS SDK in files of their own', async (t) => {
  const vault = await filesHolding('node_modules/node-vault/');
  const aws = await filesHolding('node_modules/@aws-sdk/');
  t.true(vault.length > 0 && aws.length > 0);
  t.false(vault.includes(cli) || aws.includes(cli), 'not in the entry');
  t.false(vault.some((file) => aws.includes(file)), 'no file holds both');
});

maybe('an env-only once loads neither node-vault nor the AWS SDK', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': 'templates: ./templates\noutput: ./out\n', 'templates/app.env.hbs': 'K={{secret "app/key"}}\n' });
  t.teardown(cleanup);
  const run = await onceLoading(dir, { SECRETS_AGENT_LISTEN: '', APP_KEY: 'v' });
  t.is(run.code, 0, run.stderr);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='v'\n");
  t.true(run.loaded.includes(cli), 'the hook saw the bin');
  const heavy = [...(await filesHolding('node_modules/node-vault/')), ...(await filesHolding('node_modules/@aws-sdk/'))];
  t.deepEqual(run.loaded.filter((file) => heavy.includes(file)), []);
});

maybe('a Vault-only once loads node-vault and not the AWS SDK', async (t) => {
  const vault = await startVaultEmulator();
  t.teardown(() => vault.close());
  vault.setSecret('app', { key: 'from-vault' });
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': 'templates: ./templates\noutput: ./out\nbackend: vault\n', 'templates/app.env.hbs': 'K={{secret "app/key"}}\n' });
  t.teardown(cleanup);
  const run = await onceLoading(dir, { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token });
  t.is(run.code, 0, run.stderr);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='from-vault'\n");
  const vaultFiles = await filesHolding('node_modules/node-vault/');
  t.true(run.loaded.some((file) => vaultFiles.includes(file)), 'node-vault loaded');
  const awsFiles = await filesHolding('node_modules/@aws-sdk/');
  t.deepEqual(run.loaded.filter((file) => awsFiles.includes(file)), []);
});

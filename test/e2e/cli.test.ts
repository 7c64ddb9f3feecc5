// The command line as an operator meets it, through the built binary (docs/commands.md): global flags before or
// after the command, a mistyped command, --version, offline `check`, and help that lists what applies.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { cli, root, runCli, scratch } from '../helpers/cli.js';

const packageVersion = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;

async function quickstart(t: import('ava').ExecutionContext): Promise<{ dir: string; args: string[] }> {
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'SECRET_KEY={{secret "app/secret_key"}}\n', 'secrets.yaml': 'app:\n  secret_key: "v1"\n' });
  t.teardown(cleanup);
  return { dir, args: ['--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'file'] };
}

test('global flags work before and after the command name', async (t) => {
  const { dir, args } = await quickstart(t);
  const env = { SECRETS_AGENT_FILE: join(dir, 'secrets.yaml') };
  const before = await runCli([...args, 'once'], { env });
  t.is(before.code, 0, before.stderr);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "SECRET_KEY='v1'\n");
  const after = await runCli(['once', ...args], { env });
  t.is(after.code, 0, after.stderr);
  const mixed = await runCli(['--log-level', 'error', 'check', '--templates', join(dir, 'templates'), '--backend=file'], { env });
  t.is(mixed.code, 0, mixed.stderr);
  t.regex(mixed.stdout, /app\.env\.hbs/);
});

test('a mistyped command is a usage error that suggests the closest command', async (t) => {
  const result = await runCli(['--config', 'x.yaml', 'onec']);
  t.is(result.code, 2);
  t.regex(result.stderr, /unknown command 'onec' \(did you mean 'once'\?\)/);
  const far = await runCli(['frobnicate']);
  t.is(far.code, 2);
  t.regex(far.stderr, /unknown command 'frobnicate'; the commands are run, once, check/);
});

test('--version, -V and version print the version of package.json', async (t) => {
  for (const args of [['--version'], ['-V'], ['version']]) {
    const result = await runCli(args);
    t.is(result.code, 0, args.join(' '));
    t.is(result.stdout, `${packageVersion}\n`, args.join(' '));
  }
});

test('check lints offline: a Vault-only configuration needs no VAULT_ADDR; check --diff does', async (t) => {
  const config = join(root, 'examples/vault-kv/secrets-agent.yaml');
  const lint = await runCli(['check', '--config', config]);
  t.is(lint.code, 0, lint.stderr);
  t.regex(lint.stdout, /secret +exchange\/binance\/api_key/);
  const diff = await runCli(['check', '--diff', '--config', config]);
  t.is(diff.code, 78);
  t.regex(diff.stderr, /backend is "vault" but vault\.address \(VAULT_ADDR\) is not set/);
});

test('the top-level help lists global options, exit codes and environment variables; each command lists only its flags', async (t) => {
  const top = await runCli(['--help']);
  t.is(top.code, 0);
  for (const text of ['--config <file>', '--templates <dir>', 'Exit codes:', '78  invalid configuration', 'SECRETS_AGENT_CONFIG', 'VAULT_ADDR']) t.true(top.stdout.includes(text), text);
  const get = await runCli(['get', '--help']);
  t.true(get.stdout.includes('--config <file>'));
  t.false(get.stdout.includes('--templates'), 'get uses no templates');
  t.false(get.stdout.includes('--output'), 'get writes no files');
  const migrate = await runCli(['migrate', '--help']);
  t.false(migrate.stdout.includes('--backend <name>'), 'migrate chooses its backend with --to');
  const health = await runCli(['health', '--help']);
  t.false(health.stdout.includes('--templates'));
});

test('README\'s command table names exactly the commands of --help', async (t) => {
  const help = (await runCli(['--help'])).stdout;
  const commands = [...help.matchAll(/^ {2}([a-z]+)\b/gm)].map((match) => match[1]).filter((name) => name !== 'help');
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const table = new Set([...readme.matchAll(/^\| `secrets-agent ([a-z]+)/gm)].map((match) => match[1]));
  t.deepEqual([...table].sort(), [...new Set(commands)].sort());
});

test('run with a missing templates directory creates nothing and says where the setting comes from', async (t) => {
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const result = await runCli(['run'], { env: { SECRETS_AGENT_TEMPLATES: join(dir, 'missing'), SECRETS_AGENT_OUTPUT: join(dir, 'out'), SECRETS_AGENT_LISTEN: '' } });
  t.is(result.code, 78, result.stderr);
  t.regex(result.stderr, /templates directory .*missing: ENOENT \(the templates directory is set by --templates, SECRETS_AGENT_TEMPLATES, or `templates:` in the configuration file given with --config or SECRETS_AGENT_CONFIG\)/);
  t.false(existsSync(join(dir, 'out')), 'the output directory is not created before the inputs are valid');
});

test('the bin, run as a program (as npx runs it), starts node with the product\'s V8 setting', async (t) => {
  const { dir, cleanup } = await scratch({ 'templates/a.env.hbs': 'A={{env "PATH"}}\n' });
  t.teardown(cleanup);
  const child = spawn(cli, ['run', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'env', '--log-level', 'error'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SECRETS_AGENT_LISTEN: '' }, stdio: 'ignore', detached: true });
  t.teardown(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone: the test stopped it.
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let cmdline = '';
  // Until env has exec'd node (for a moment the process is `/usr/bin/env -S ...`).
  for (const deadline = Date.now() + 20_000; !/(^|\/)node$/.test(cmdline.split('\0')[0] ?? '') && Date.now() < deadline;) {
    cmdline = await readFile(`/proc/${child.pid ?? 0}/cmdline`, 'utf8').catch(() => '');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.deepEqual(cmdline.split('\0').filter(Boolean).slice(1), ['--max-semi-space-size=1', '--heap-growing-percent=25', cli, 'run', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'env', '--log-level', 'error']);
  // Stopped cleanly once it has rendered (its signal handlers are in place by then).
  for (const deadline = Date.now() + 20_000; !existsSync(join(dir, 'out/a.env')) && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

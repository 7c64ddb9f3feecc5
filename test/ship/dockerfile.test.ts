// The image's promises, checked without a Docker engine: the Dockerfile is parsed and every promise of
// docs/docker.md is asserted on it; what can run here (the HEALTHCHECK command, the agent as UID 10001 with
// nothing writable but its output) is run.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chmod, chown, cp, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import test from 'ava';
import { configSchema } from '../../agent/config/schema.js';
import { eventually, freePort } from '../helpers/agent-process.js';
import { cli, needing, root, scratch } from '../helpers/cli.js';
import { declaredNames, dockerignore, expand, globalArgs, parseDockerfile, stages } from './dockerfile.js';
import type { Instruction, Stage } from './dockerfile.js';

const text = await readFile(join(root, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(text);
const args = globalArgs(instructions);
const all = stages(instructions);
const isIncluded = dockerignore(await readFile(join(root, '.dockerignore'), 'utf8'));
const packageJson = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; engines: { node: string } };

function stage(name: string): Stage {
  const found = all.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no stage "${name}" in the Dockerfile`);
  return found;
}

const runtime = stage('runtime');
const only = (from: Stage, keyword: string): Instruction[] => from.instructions.filter((instruction) => instruction.keyword === keyword);
const runs = (from: Stage): string[] => only(from, 'RUN').map((instruction) => instruction.rest.replace(/\s+/g, ' '));

function lastOf(from: Stage, keyword: string): Instruction {
  const found = only(from, keyword).at(-1);
  if (!found) throw new Error(`the ${from.name ?? 'unnamed'} stage has no ${keyword}`);
  return found;
}

test('the image is built in stages, the last one is the runtime, built on the distroless base stage', (t) => {
  t.deepEqual(all.map((candidate) => candidate.name), ['build', 'deps', 'distroless', 'runtime']);
  t.is(all.at(-1), runtime);
  t.is(runtime.base, 'distroless');
  t.deepEqual(stage('distroless').instructions, [], 'the base as it is: only named, so the runtime can copy from it');
});

test('the build stage compiles with the dev dependencies, the deps stage installs production ones only', (t) => {
  const build = runs(stage('build'));
  t.true(build.some((command) => /^npm ci\b/.test(command) && !command.includes('--omit=dev')), 'npm ci with dev dependencies');
  t.true(build.includes('npm run build'));
  const deps = runs(stage('deps'));
  t.true(deps.some((command) => /^npm ci\b.*--omit=dev/.test(command)));
  t.false(deps.some((command) => command.includes('npm run build')));
  t.true(only(stage('deps'), 'ENV').some((instruction) => instruction.rest === 'NODE_ENV=production'));
  const fromDeps = only(runtime, 'COPY').filter((instruction) => instruction.flags['from'] === 'deps').map((instruction) => instruction.rest);
  t.true(fromDeps.includes('/app/node_modules ./node_modules'), 'node_modules come from the production-only stage');
  t.false(only(runtime, 'COPY').some((instruction) => instruction.flags['from'] === 'build' && instruction.rest.includes('node_modules')));
});

test('every stage runs the same Node.js major, an LTS line, on the same Debian release', (t) => {
  const major = args['NODE_MAJOR'] ?? '';
  t.regex(major, /^\d+$/);
  t.true(Number(major) >= 24 && Number(major) % 2 === 0, 'an even (LTS) Node.js major, 24 or later');
  const bases = all.map((candidate) => expand(candidate.base, args));
  t.deepEqual(bases.slice(0, 2), [`node:${major}-trixie-slim`, `node:${major}-trixie-slim`]);
  t.is(bases[2], `gcr.io/distroless/nodejs${major}-debian13:nonroot`, 'trixie is Debian 13');
  t.is(bases[3], 'distroless', 'the runtime is that base');
  const minimum = /^>=(\d+)/.exec(packageJson.engines.node)?.[1];
  t.true(Number(major) >= Number(minimum), 'the image satisfies package.json engines');
});

test('the runtime needs no shell: no RUN, and ENTRYPOINT, CMD and HEALTHCHECK are in exec form', (t) => {
  t.deepEqual(only(runtime, 'RUN'), [], 'distroless has no /bin/sh for a RUN');
  t.deepEqual(lastOf(runtime, 'ENTRYPOINT').exec, ['/nodejs/bin/node', '--max-semi-space-size=1', '--heap-growing-percent=25', '/app/dist/agent/main.js']);
  t.deepEqual(lastOf(runtime, 'CMD').exec, ['run']);
  const healthcheck = lastOf(runtime, 'HEALTHCHECK');
  t.true(healthcheck.rest.startsWith('CMD '), 'CMD, not CMD-SHELL');
  t.is(healthcheck.exec?.[0], '/nodejs/bin/node');
});

test('the node binary the runtime runs is execute-only for the agent: root-owned 0711, so the agent is not dumpable', (t) => {
  const entrypoint = lastOf(runtime, 'ENTRYPOINT').exec?.[0] ?? '';
  const copies = only(runtime, 'COPY').filter((instruction) => instruction.rest.split(/\s+/).at(-1) === entrypoint);
  t.is(copies.length, 1, `one COPY writes ${entrypoint}`);
  const [copy] = copies;
  t.is(copy?.flags['chmod'], '0711', 'execute-only: the agent\'s user cannot read it, so the kernel marks the process non-dumpable');
  t.is(copy?.flags['chown'], undefined, 'owned by root (COPY\'s default), so the agent cannot chmod it back');
  t.is(copy?.flags['from'], 'distroless', 'the base\'s own node, not another build');
  t.is(copy?.rest, `${entrypoint} ${entrypoint}`, 'copied over itself: no readable node is left on the image\'s path');
  t.is(entrypoint, '/nodejs/bin/node');
  t.is(lastOf(runtime, 'HEALTHCHECK').exec?.[0], entrypoint, 'the HEALTHCHECK runs the same binary');
  const user = lastOf(runtime, 'USER');
  t.true((copy?.line ?? Infinity) < user.line && user.rest !== '0' && !user.rest.startsWith('0:') && !user.rest.startsWith('root'), 'a non-root user: root reads every file, so 0711 does not stop root from dumping');
  t.deepEqual(lastOf(runtime, 'ENTRYPOINT').exec?.slice(1), ['--max-semi-space-size=1', '--heap-growing-percent=25', '/app/dist/agent/main.js']);
});

test('the runtime runs as the fixed non-root user 10001:10001, which the image names', (t) => {
  const users = instructions.filter((instruction) => instruction.keyword === 'USER');
  t.is(users.at(-1), lastOf(runtime, 'USER'), 'the last USER is in the runtime stage');
  const user = lastOf(runtime, 'USER').rest;
  t.regex(user, /^\d+:\d+$/, 'numeric, so Kubernetes runAsNonRoot can verify it');
  const [uid, gid] = user.split(':').map(Number);
  t.true(uid !== 0 && gid !== 0);
  t.is(user, '10001:10001');
  t.true(runs(stage('deps')).some((command) => command.includes("'secrets-agent:x:10001:10001:secrets-agent:/nonexistent:")), 'a passwd entry with a home that does not exist');
  t.true(only(runtime, 'COPY').some((instruction) => instruction.flags['from'] === 'deps' && instruction.rest === '/image/etc/passwd /image/etc/group /etc/'));
  const owned = only(runtime, 'COPY').filter((instruction) => instruction.flags['chown'] !== undefined);
  t.deepEqual(owned.map((instruction) => [instruction.flags['chown'], instruction.rest]), [['10001:10001', '/image/secrets /secrets']], 'the agent owns its output directory and nothing else');
});

test('the templates are baked where the default configuration looks, and the output is the default one', (t) => {
  const defaults = configSchema.parse({});
  t.is(defaults.templates, '/etc/secrets-agent/templates');
  t.is(defaults.output, '/secrets');
  const copies = only(runtime, 'COPY').filter((instruction) => instruction.flags['from'] === undefined).map((instruction) => instruction.rest);
  t.true(copies.includes('templates/ /etc/secrets-agent/templates/'));
  t.true(copies.includes('package.json ./package.json'), 'package.json carries "type": "module" and the version');
  t.is(lastOf(runtime, 'WORKDIR').rest, '/app');
  t.false(instructions.some((instruction) => instruction.keyword === 'VOLUME'), 'no VOLUME: an anonymous volume would put secrets on disk');
});

test('no build argument or environment variable is a credential or overrides the configuration file', (t) => {
  const declared = instructions.filter((instruction) => instruction.keyword === 'ARG' || instruction.keyword === 'ENV').flatMap(declaredNames);
  t.true(declared.length > 0);
  for (const name of declared) {
    t.notRegex(name, /TOKEN|PASSW|SECRET|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH/i, name);
    t.notRegex(name, /^(SECRETS_AGENT_|VAULT_|AWS_)/, `${name}: environment variables beat the config file, so the image sets none`);
  }
  t.deepEqual(only(runtime, 'ENV').map((instruction) => instruction.rest), ['NODE_ENV=production']);
  t.false(/--secret\b|\bid=.*(token|key)/i.test(text), 'no build secrets are needed');
});

test('the HEALTHCHECK needs no curl or wget and asks /health/ready', (t) => {
  const healthcheck = lastOf(runtime, 'HEALTHCHECK');
  const command = healthcheck.exec?.join(' ') ?? '';
  t.notRegex(command, /\b(curl|wget|sh|bash)\b/);
  t.regex(command, /\/health\/ready/);
  for (const flag of ['interval', 'timeout', 'start-period', 'retries']) t.truthy(healthcheck.flags[flag], flag);
});

function healthcheck(env: Record<string, string>): Promise<number> {
  const [, flag, script] = lastOf(runtime, 'HEALTHCHECK').exec ?? [];
  return new Promise((resolve) => {
    execFile(process.execPath, [flag ?? '', script ?? ''], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 10_000 }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0);
    });
  });
}

test('the HEALTHCHECK command passes on 200, fails on 503 and on a closed port, and follows SECRETS_AGENT_LISTEN', async (t) => {
  let status = 200;
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  t.is(await healthcheck({ SECRETS_AGENT_LISTEN: `127.0.0.1:${port}` }), 0);
  t.is(await healthcheck({ SECRETS_AGENT_LISTEN: `0.0.0.0:${port}` }), 0, 'a wildcard listener is asked on loopback');
  status = 503;
  t.is(await healthcheck({ SECRETS_AGENT_LISTEN: `127.0.0.1:${port}` }), 1);
  t.deepEqual([...new Set(paths)], ['/health/ready']);
  t.is(await healthcheck({ SECRETS_AGENT_LISTEN: `127.0.0.1:${await freePort()}` }), 1, 'nothing listening');
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

test('.dockerignore sends what the Dockerfile copies and keeps tests, dependencies, build output and git out', async (t) => {
  const fromContext = instructions.filter((instruction) => instruction.keyword === 'COPY' && instruction.flags['from'] === undefined);
  for (const instruction of fromContext) {
    const sources = instruction.rest.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      const clean = source.replace(/\/$/, '');
      const wanted = (await stat(join(root, clean))).isDirectory() ? await files(clean) : [clean];
      t.true(wanted.length > 0, source);
      for (const path of wanted) t.true(isIncluded(path), `${path} (COPY ${source}) is in the build context`);
    }
  }
  for (const path of ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'agent/main.ts', 'templates/app.env.hbs']) t.true(isIncluded(path), path);
  for (const path of [
    'node_modules/yaml/package.json', 'dist/agent/main.js', 'test/ship/dockerfile.test.ts', '.git/HEAD', '.ci/run',
    'examples/quickstart/out/app.env', 'examples/quickstart/secrets.yaml', 'examples/docker-compose/compose.yaml',
    'agent/node_modules/x/index.js', 'agent/dist/x.js', 'templates/out/app.env', 'npm-debug.log', 'docs/docker.md', '.env',
  ]) {
    t.false(isIncluded(path), `${path} stays out of the build context`);
  }
  for (const path of await files('test')) t.false(isIncluded(path), path);
});

test('the built agent imports only production dependencies and Node built-ins', async (t) => {
  const imported = new Set<string>();
  for (const path of (await files('dist/agent')).filter((file) => file.endsWith('.js'))) {
    const source = await readFile(join(root, path), 'utf8');
    for (const match of source.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? '';
      // The bundle (scripts/bundle.ts) keeps its dependencies' bare built-in names (`path`, not `node:path`).
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? ''));
    }
  }
  t.true(imported.size >= 5, `found ${[...imported].join(', ')}`);
  for (const name of imported) t.true(Object.hasOwn(packageJson.dependencies, name), `${name} is a production dependency (npm ci --omit=dev installs it)`);
});

/** Why this machine cannot start the agent as UID 10001, or undefined (then the test runs; in CI it must). */
function uid10001Missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to start a process as another user (CI runs as root)';
  const probe = spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', cli], { uid: 10001, gid: 10001 });
  if (probe.status !== 0 && existsSync(cli)) return `UID 10001 cannot read ${cli} (a parent directory is private), so it cannot run the agent from this checkout`;
  return undefined;
}

needing(uid10001Missing())('the agent runs as UID 10001 with nothing writable but its output directory', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets.yaml': (await readFile(join(root, 'examples/quickstart/secrets.yaml'), 'utf8')) });
  t.teardown(cleanup);
  await cp(join(root, 'templates'), join(dir, 'templates'), { recursive: true });
  await chmod(dir, 0o755);
  const output = join(dir, 'secrets');
  await mkdir(output, { mode: 0o700 });
  await chown(output, 10001, 10001);
  const port = await freePort();
  const before = await ownedBy10001('/tmp');
  const child = spawn(process.execPath, [cli, 'run', '--templates', join(dir, 'templates'), '--output', output, '--backend', 'file'], {
    cwd: '/', uid: 10001, gid: 10001,
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', NODE_ENV: 'production', SECRETS_AGENT_FILE: join(dir, 'secrets.yaml'), SECRETS_AGENT_LISTEN: `127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(() => child.kill('SIGKILL'));
  t.true(await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200), stderr);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  for (const name of ['app.env', 'config.json', 'database.env']) {
    const info = await stat(join(output, name));
    t.is(info.uid, 10001, name);
    t.is(info.mode & 0o777, 0o600, name);
  }
  t.deepEqual((await readdir(dir)).sort(), ['secrets', 'secrets.yaml', 'templates'], 'nothing written beside the output');
  t.deepEqual(await ownedBy10001('/tmp'), before, 'nothing written to /tmp');
  t.false(stderr.includes('FAKE-postgres'), 'no value in the logs');
});

async function ownedBy10001(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const owned: string[] = [];
  for (const entry of entries) {
    const info = await stat(join(dir, entry.name)).catch(() => undefined);
    if (info?.uid === 10001) owned.push(entry.name);
  }
  return owned.sort();
}

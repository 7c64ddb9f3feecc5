// The deployment examples keep their promises: the Compose files and the Kubernetes manifests are parsed with
// the `yaml` package and checked for a memory-backed shared volume, no single-file mounts or subPath, probes on
// the agent's endpoints, non-root read-only containers, separate UIDs and PID namespaces by default (the one-UID
// signal variants: one UID, one PID namespace, no init), and start ordering without a cycle.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import test from 'ava';
import { parse, parseAllDocuments } from 'yaml';
import { root } from '../helpers/cli.js';
import { parseDockerfile, stages } from './dockerfile.js';

type Json = Record<string, unknown>;

const examples = join(root, 'examples');
const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const readFileText = (path: string): string => readFileSync(path, 'utf8');

// ---- Docker Compose -------------------------------------------------------------------------------------------

const composeDir = join(examples, 'docker-compose');
const compose = parse(await readFile(join(composeDir, 'compose.yaml'), 'utf8')) as Json;
const devVault = parse(await readFile(join(composeDir, 'compose.dev-vault.yaml'), 'utf8')) as Json;
const services = obj(compose['services']);
const agent = obj(services['secrets-agent']);
const apiServer = obj(services['api-server']);
const agentConfig = parse(await readFile(join(composeDir, 'agent/secrets-agent.yaml'), 'utf8')) as Json;
const signalOverride = parse(await readFile(join(composeDir, 'compose.signal.yaml'), 'utf8')) as Json;
const agentSignalConfig = parse(await readFile(join(composeDir, 'agent/secrets-agent.signal.yaml'), 'utf8')) as Json;
/** The template front matter of a directory of *.hbs texts: name -> the parsed YAML between the `---` lines. */
const frontMatter = (texts: Record<string, string>): Record<string, Json> => Object.fromEntries(Object.entries(texts).map(([name, text]) => [name, obj(parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? ''))]));
const composeTemplates = frontMatter(Object.fromEntries(['app.env.hbs', 'config.json.hbs'].map((name) => [name, readFileSync(join(composeDir, 'templates', name), 'utf8')])));

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** A service's volumes in short syntax, `source:target[:ro]`. */
function mounts(service: Json): Mount[] {
  return list(service['volumes']).map((entry) => {
    const [source = '', target = '', mode = ''] = str(entry).split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

/** Explicit depends_on plus what Compose adds by itself: pid/network_mode/ipc `service:X`, volumes_from. */
function dependencies(all: Json): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [name, value] of Object.entries(all)) {
    const service = obj(value);
    const needs = new Set<string>(Array.isArray(service['depends_on']) ? service['depends_on'].map(str) : Object.keys(obj(service['depends_on'])));
    for (const key of ['pid', 'network_mode', 'ipc']) {
      const match = /^service:(.+)$/.exec(str(service[key]));
      if (match?.[1]) needs.add(match[1]);
    }
    for (const from of list(service['volumes_from'])) needs.add(str(from).split(':')[0] ?? '');
    graph.set(name, needs);
  }
  return graph;
}

function cycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path, node];
    state.set(node, 'visiting');
    for (const next of graph.get(node) ?? []) {
      const found = visit(next, [...path, node]);
      if (found) return found;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const found = visit(node, []);
    if (found) return found;
  }
  return undefined;
}

/** Compose's merge of an override file: services merged key by key, maps (environment, depends_on) merged. */
function merged(base: Json, override: Json): Json {
  const result: Json = { ...obj(base['services']) };
  for (const [name, value] of Object.entries(obj(override['services']))) {
    const before = obj(result[name]);
    const after = obj(value);
    result[name] = { ...before, ...after, depends_on: { ...obj(before['depends_on']), ...obj(after['depends_on']) }, environment: { ...obj(before['environment']), ...obj(after['environment']) } };
  }
  return result;
}

test('compose: the api-server starts once the agent is healthy, as another UID, in its own PID namespace', (t) => {
  t.is(obj(obj(apiServer['depends_on'])['secrets-agent'])['condition'], 'service_healthy');
  t.is(apiServer['pid'], undefined, 'no shared PID namespace: the agent\'s /proc entries are out of sight');
  t.is(agent['pid'], undefined);
  t.not(str(apiServer['user']).split(':')[0], str(agent['user']).split(':')[0], 'two UIDs');
  t.deepEqual(agent['group_add'], ['10000']);
  t.deepEqual(apiServer['group_add'], ['10000'], 'one shared group, which reads the files');
  t.is(agent['init'], undefined);
});

test('compose: the one-UID variant shares the UID and the agent\'s PID namespace, without an init of that UID', (t) => {
  const variant = merged(compose, signalOverride);
  const variantAgent = obj(variant['secrets-agent']);
  const variantApp = obj(variant['api-server']);
  t.is(variantApp['pid'], 'service:secrets-agent');
  t.is(variantApp['user'], variantAgent['user'], 'a signal needs the same UID');
  t.not(variantAgent['init'], true, 'docker-init would be a dumpable process of that UID holding VAULT_TOKEN');
  t.deepEqual(variantAgent['cap_drop'], ['ALL'], 'no capability when node is executed: the execute-only node works');
  t.is(cycle(dependencies(variant)), undefined);
  t.is(cycle(dependencies(merged({ services: variant }, devVault))), undefined);
  const command = list(variantAgent['command']).map(str);
  t.is(command[command.indexOf('--config') + 1], '/etc/secrets-agent/config/secrets-agent.signal.yaml');
  const header = readFileText(join(composeDir, 'compose.signal.yaml')).split('\n').filter((line) => line.startsWith('#')).join('\n');
  t.regex(header, /Trade-off/, 'the trade-off is written at the top');
  t.regex(header, /execute-only/);
  const notifier = obj(obj(agentSignalConfig['notifiers'])['api-server']);
  t.is(notifier['signal'], 'SIGHUP');
  const pidFile = str(notifier['pidFile']);
  t.is(/^pidfile = "([^"]+)"/m.exec(readFileText(join(composeDir, 'api-server/gunicorn.conf.py')))?.[1], pidFile);
  const dir = dirname(pidFile);
  t.like(mounts(variantApp).find((mount) => mount.target === dir), { source: 'app-run', readOnly: false });
  t.like(mounts(variantAgent).find((mount) => mount.target === dir), { source: 'app-run', readOnly: true });
  t.regex(str(obj(obj(obj(signalOverride['volumes'])['app-run'])['driver_opts'])['o']), new RegExp(`(^|,)uid=${str(variantApp['user']).split(':')[0]}(,|$)`), 'gunicorn, now UID 10001, writes its pid file');
  t.is(obj(variantApp['environment'])['RELOAD_MARKER'], '', 'gunicorn does not watch the marker');
  t.deepEqual({ ...agentSignalConfig, notifiers: undefined }, { ...agentConfig, notifiers: undefined }, 'only the notifier differs');
});

test('compose: the start order has no cycle, with or without the dev Vault override', (t) => {
  t.is(cycle(dependencies(services)), undefined);
  const withVault = merged(compose, devVault);
  t.is(cycle(dependencies(withVault)), undefined);
  t.is(obj(obj(obj(withVault['secrets-agent'])['depends_on'])['vault-seed'])['condition'], 'service_completed_successfully');
  // The layout the issue first sketched — the agent in the api-server's namespace while the api-server waits for
  // the agent — is the cycle Compose refuses; this is why the namespace belongs to the agent.
  const sketched = { ...services, 'secrets-agent': { ...agent, pid: 'service:api-server' }, 'api-server': { ...apiServer, pid: undefined } };
  t.deepEqual(cycle(dependencies(sketched)), ['secrets-agent', 'api-server', 'secrets-agent']);
});

test('compose: the secrets volume is tmpfs, written by the agent and read-only for the api-server', (t) => {
  const volume = obj(obj(compose['volumes'])['secrets']);
  t.like(obj(volume['driver_opts']), { type: 'tmpfs', device: 'tmpfs' });
  t.regex(str(obj(volume['driver_opts'])['o']), /(^|,)uid=10001(,|$)/);
  t.regex(str(obj(volume['driver_opts'])['o']), /(^|,)gid=10000(,|$)/, 'the shared group may read the directory');
  t.regex(str(obj(volume['driver_opts'])['o']), /(^|,)mode=0750(,|$)/, 'nobody else may');
  for (const [name, front] of Object.entries(composeTemplates)) {
    t.is(front['mode'], '0640', name);
    t.is(front['gid'], 10000, name);
  }
  t.deepEqual(mounts(agent).find((mount) => mount.source === 'secrets'), { source: 'secrets', target: agentConfig['output'], readOnly: false });
  t.deepEqual(mounts(apiServer).find((mount) => mount.source === 'secrets'), { source: 'secrets', target: '/secrets', readOnly: true });
  t.is(agentConfig['requireTmpfs'], true);
  t.like(obj(obj(obj(compose['volumes'])['app-run'])['driver_opts']), { type: 'tmpfs' });
});

test('compose: every bind mount is a directory, never a single file', (t) => {
  const binds = [...mounts(agent), ...mounts(apiServer)].filter((mount) => mount.source.startsWith('.'));
  t.true(binds.length >= 2);
  for (const mount of binds) t.true(statSync(join(composeDir, mount.source)).isDirectory(), `${mount.source} is a directory`);
  const templates = mounts(agent).find((mount) => mount.target === agentConfig['templates']);
  t.is(templates?.source, './templates', 'the example templates replace the baked ones at the configured path');
  const command = list(agent['command']).map(str);
  const configPath = command[command.indexOf('--config') + 1] ?? '';
  const configMount = mounts(agent).find((mount) => configPath.startsWith(`${mount.target}/`));
  t.truthy(configMount);
  t.true(existsSync(join(composeDir, configMount?.source ?? '', posix.relative(configMount?.target ?? '', configPath))), 'the --config file is in the mounted directory');
});

test('compose: the agent runs as UID 10001, the api-server as 10002, both with a read-only root, no capabilities and no new privileges', (t) => {
  for (const [name, service, user] of [['secrets-agent', agent, '10001:10001'], ['api-server', apiServer, '10002:10002']] as const) {
    t.is(service['user'], user, name);
    t.is(service['read_only'], true, name);
    t.deepEqual(service['cap_drop'], ['ALL'], name);
    t.true(list(service['security_opt']).includes('no-new-privileges:true'), name);
  }
  const appDockerfile = stages(parseDockerfile(readFileText(join(composeDir, 'api-server/Dockerfile'))));
  const last = appDockerfile.at(-1)?.instructions ?? [];
  t.is(last.filter((instruction) => instruction.keyword === 'USER').at(-1)?.rest, '10002:10002', 'the app image\'s own user is not the agent\'s');
  t.deepEqual(last.find((instruction) => instruction.keyword === 'CMD')?.exec, ['gunicorn', '--config', 'gunicorn.conf.py', 'app:application']);
});

test('compose: the agent is healthy only when ready, and its Vault settings follow the seed', (t) => {
  const healthcheck = obj(agent['healthcheck']);
  t.is(healthcheck['test'], undefined, 'the image HEALTHCHECK (GET /health/ready) is kept');
  t.not(healthcheck['disable'], true);
  t.is(healthcheck['start_interval'], '1s');
  t.regex(readFileText(join(root, 'Dockerfile')), /HEALTHCHECK[\s\S]*\/health\/ready/);
  const environment = obj(agent['environment']);
  t.regex(str(environment['VAULT_ADDR']), /^\$\{VAULT_ADDR/);
  t.regex(str(environment['VAULT_TOKEN']), /^\$\{VAULT_TOKEN[^}]*\}$/, 'the token comes from the caller, never the file');
  t.is(environment['VAULT_NAMESPACE'], '${VAULT_NAMESPACE-dsta}');
  t.is(agent['image'], `secrets-agent:${version}`);
  t.like(obj(agent['build']), { context: '../..' });
  t.true(existsSync(join(composeDir, '../../Dockerfile')));
});

test('compose: the agent touches the marker gunicorn watches, on a volume it writes and the api-server reads', (t) => {
  const notifier = obj(obj(agentConfig['notifiers'])['api-server']);
  const marker = str(notifier['touch']);
  t.truthy(marker, 'a touch notifier');
  const conf = readFileText(join(composeDir, 'api-server/gunicorn.conf.py'));
  t.is(/^RELOAD_MARKER = os\.environ\.get\("RELOAD_MARKER", "([^"]+)"\)$/m.exec(conf)?.[1], marker, 'gunicorn watches that path by default');
  t.regex(conf, /^preload_app = False$/m, 'workers import the app, and read the files, when they boot');
  const dir = dirname(marker);
  t.like(mounts(agent).find((mount) => mount.target === dir), { source: 'reload', readOnly: false });
  t.like(mounts(apiServer).find((mount) => mount.target === dir), { source: 'reload', readOnly: true });
  t.is(mounts(agent).find((mount) => mount.source === 'app-run'), undefined, 'the agent does not need gunicorn\'s pid');
  const options = str(obj(obj(obj(compose['volumes'])['reload'])['driver_opts'])['o']);
  t.regex(options, /(^|,)uid=10001(,|$)/);
  t.regex(options, /(^|,)gid=10000(,|$)/);
  for (const name of ['app.env.hbs', 'config.json.hbs']) t.regex(readFileText(join(composeDir, 'templates', name)), /^notify: \[api-server\]$/m, name);
});

// ---- Kubernetes -----------------------------------------------------------------------------------------------

const k8sDir = join(examples, 'kubernetes');
const k8sFiles = ['serviceaccount.yaml', 'configmap.yaml', 'deployment.yaml'];
const docs: Json[] = [];
for (const file of k8sFiles) for (const doc of parseAllDocuments(readFileText(join(k8sDir, file)))) docs.push(doc.toJS() as Json);
const kind = (name: string): Json[] => docs.filter((doc) => doc['kind'] === name);
const deployment = kind('Deployment')[0] ?? {};
const pod = obj(obj(obj(deployment['spec'])['template'])['spec']);
const sidecar = obj(list(pod['initContainers']).find((container) => obj(container)['name'] === 'secrets-agent'));
const app = obj(list(pod['containers']).find((container) => obj(container)['name'] === 'api-server'));
const configMaps = new Map(kind('ConfigMap').map((doc) => [str(obj(doc['metadata'])['name']), obj(doc['data'])]));
const volumes = new Map(list(pod['volumes']).map((volume) => [str(obj(volume)['name']), obj(volume)]));

/** The container port a probe's `port` names (a number or a named container port). */
function probePort(container: Json, probe: Json): number {
  const port = obj(probe['httpGet'])['port'];
  if (typeof port === 'number') return port;
  return Number(obj(list(container['ports']).find((entry) => obj(entry)['name'] === port))['containerPort']);
}

function mountOf(container: Json, volume: string): Json | undefined {
  const found = list(container['volumeMounts']).find((mount) => obj(mount)['name'] === volume);
  return found === undefined ? undefined : obj(found);
}

/** The volume whose mount in `container` holds `path`, and the path relative to the mount. */
function volumeFor(container: Json, path: string): { volume: Json; relative: string } | undefined {
  for (const entry of list(container['volumeMounts'])) {
    const mount = obj(entry);
    const target = str(mount['mountPath']);
    if (path.startsWith(`${target}/`)) return { volume: volumes.get(str(mount['name'])) ?? {}, relative: path.slice(target.length + 1) };
  }
  return undefined;
}

const agentK8sConfig = parse(str(configMaps.get('api-server-secrets-agent')?.['secrets-agent.yaml'])) as Json;

test('kubernetes: the agent is a native sidecar whose startupProbe waits for /health/ready on the port it listens on', (t) => {
  t.is(sidecar['restartPolicy'], 'Always');
  t.is(obj(list(pod['initContainers'])[0])['name'], 'secrets-agent', 'it starts first');
  const startup = obj(sidecar['startupProbe']);
  t.is(obj(startup['httpGet'])['path'], '/health/ready');
  t.is(obj(obj(sidecar['livenessProbe'])['httpGet'])['path'], '/health/live');
  t.is(agentK8sConfig['listen'], '0.0.0.0:9876', 'kubelet probes do not come from the pod loopback');
  t.is(probePort(sidecar, startup), 9876);
  t.is(probePort(sidecar, obj(sidecar['livenessProbe'])), 9876);
  t.true(Number(startup['periodSeconds']) * Number(startup['failureThreshold']) >= 60, 'at least a minute for the first render');
  t.truthy(obj(app['readinessProbe'])['httpGet']);
  t.is(sidecar['image'], `secrets-agent:${version}`);
});

test('kubernetes: the secrets volume is memory-backed, mounted as a directory, read-only in the app, and no mount uses subPath', (t) => {
  t.is(obj(volumes.get('secrets')?.['emptyDir'])['medium'], 'Memory');
  t.is(obj(volumes.get('app-run')?.['emptyDir'])['medium'], 'Memory');
  t.like(mountOf(sidecar, 'secrets') ?? {}, { mountPath: agentK8sConfig['output'] });
  t.not(mountOf(sidecar, 'secrets')?.['readOnly'], true);
  t.like(mountOf(app, 'secrets') ?? {}, { mountPath: '/secrets', readOnly: true });
  t.is(agentK8sConfig['requireTmpfs'], true);
  const subPaths: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) value.forEach((item, index) => { walk(item, `${path}[${index}]`); });
    else if (typeof value === 'object' && value !== null) for (const [key, child] of Object.entries(value)) {
      if (key === 'subPath' || key === 'subPathExpr') subPaths.push(path);
      walk(child, `${path}.${key}`);
    }
  };
  walk(docs, 'manifests');
  t.deepEqual(subPaths, []);
});

test('kubernetes: every container is non-root with a read-only root, no privilege escalation, no capabilities, seccomp RuntimeDefault', (t) => {
  const podSecurity = obj(pod['securityContext']);
  t.is(podSecurity['runAsNonRoot'], true);
  t.is(obj(podSecurity['seccompProfile'])['type'], 'RuntimeDefault');
  t.like(obj(sidecar['securityContext']), { runAsUser: 10001, runAsGroup: 10001 });
  t.like(obj(app['securityContext']), { runAsUser: 10002, runAsGroup: 10002 });
  for (const container of [...list(pod['initContainers']), ...list(pod['containers'])].map(obj)) {
    const security = obj(container['securityContext']);
    const name = str(container['name']);
    t.is(security['readOnlyRootFilesystem'], true, name);
    t.is(security['allowPrivilegeEscalation'], false, name);
    t.is(security['runAsNonRoot'], true, name);
    t.deepEqual(obj(security['capabilities'])['drop'], ['ALL'], name);
    t.is(security['privileged'], undefined, name);
    t.not(security['runAsUser'], 0, name);
  }
});

test('kubernetes: two UIDs, one fsGroup that reads the 0640 files, no shared process namespace', (t) => {
  t.not(pod['shareProcessNamespace'], true, 'the api-server cannot see the agent\'s process');
  t.not(obj(sidecar['securityContext'])['runAsUser'], obj(app['securityContext'])['runAsUser']);
  t.is(obj(pod['securityContext'])['fsGroup'], 10000);
  t.is(obj(pod['securityContext'])['runAsUser'], undefined, 'each container names its own UID');
  for (const [name, text] of Object.entries(configMaps.get('api-server-templates') ?? {})) {
    const front = obj(parse(/^---\n([\s\S]*?)\n---\n/.exec(str(text))?.[1] ?? ''));
    t.is(front['mode'], '0640', name);
    t.is(front['gid'], obj(pod['securityContext'])['fsGroup'], name);
  }
  const header = readFileText(join(k8sDir, 'deployment.yaml')).split('\n').filter((line) => line.startsWith('#')).join('\n');
  t.regex(header, /kubernetes-signal/, 'the one-UID variant is named at the top');
});

test('kubernetes: the agent touches the marker gunicorn watches, on a memory volume it writes and the app reads', (t) => {
  const notifier = obj(obj(agentK8sConfig['notifiers'])['api-server']);
  const marker = str(notifier['touch']);
  t.truthy(marker, 'a touch notifier');
  t.is(/^RELOAD_MARKER = os\.environ\.get\("RELOAD_MARKER", "([^"]+)"\)$/m.exec(readFileText(join(examples, 'docker-compose/api-server/gunicorn.conf.py')))?.[1], marker, 'the api-server image watches that path');
  const dir = dirname(marker);
  const mount = mountOf(sidecar, 'reload');
  t.like(mount ?? {}, { mountPath: dir });
  t.not(mount?.['readOnly'], true);
  t.like(mountOf(app, 'reload') ?? {}, { mountPath: dir, readOnly: true });
  t.is(obj(volumes.get('reload')?.['emptyDir'])['medium'], 'Memory');
  t.is(mountOf(sidecar, 'app-run'), undefined, 'the agent does not need gunicorn\'s pid');
  t.like(mountOf(app, 'app-run') ?? {}, { mountPath: '/run/app' });
});

/**
 * Kustomize's strategic merge, as far as the overlay uses it: maps merge key by key, lists of objects merge by
 * `mountPath` (volumeMounts) or `name` (containers, env, volumes), anything else is replaced by the patch.
 */
function strategicMerge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const before: unknown[] = base;
    const after: unknown[] = patch;
    const key = (item: unknown): string => str(obj(item)['mountPath']) || str(obj(item)['name']);
    const merged = before.map((item) => {
      const match = after.find((candidate) => key(candidate) !== '' && key(candidate) === key(item));
      return match === undefined ? item : strategicMerge(item, match);
    });
    return [...merged, ...after.filter((candidate) => !before.some((item) => key(item) === key(candidate)))];
  }
  if (typeof base === 'object' && base !== null && !Array.isArray(base) && typeof patch === 'object' && patch !== null && !Array.isArray(patch)) {
    const result: Json = { ...(base as Json) };
    for (const [name, value] of Object.entries(patch)) result[name] = name in result ? strategicMerge(result[name], value) : value;
    return result;
  }
  return patch;
}

const signalDir = join(examples, 'kubernetes-signal');
const signalKustomization = parse(readFileText(join(signalDir, 'kustomization.yaml'))) as Json;
/** The overlay's objects: each base document with the patch of the same kind and name merged in. */
const signalObjects = docs.map((doc) => {
  const patch = list(signalKustomization['patches']).map((entry) => parse(readFileText(join(signalDir, str(obj(entry)['path'])))) as Json)
    .find((candidate) => candidate['kind'] === doc['kind'] && obj(candidate['metadata'])['name'] === obj(doc['metadata'])['name']);
  return patch === undefined ? doc : (strategicMerge(doc, patch) as Json);
});

test('kubernetes-signal: the overlay runs both containers as one UID in one process namespace, signalling by pid file', (t) => {
  t.deepEqual(signalKustomization['resources'], ['../kubernetes']);
  t.is(list(signalKustomization['patches']).length, 2);
  // Where kubectl is installed, kustomize itself builds the overlay, and it must agree with the merge above.
  const built = spawnSync('kubectl', ['kustomize', signalDir], { encoding: 'utf8' });
  if (built.error === undefined) {
    t.is(built.status, 0, built.stderr);
    const byKey = (items: Json[]) => new Map(items.map((doc) => [`${str(doc['kind'])}/${str(obj(doc['metadata'])['name'])}`, doc]));
    const kustomized = byKey(parseAllDocuments(built.stdout).map((doc) => doc.toJS() as Json));
    // Order of merged list items is not a promise (kustomize puts added ones first): compare them sorted.
    const sorted = (value: unknown): unknown => {
      if (Array.isArray(value)) {
        const items: unknown[] = value.map(sorted);
        const key = (item: unknown): string => str(obj(item)['mountPath']) || str(obj(item)['name']);
        return items.every((item) => key(item) !== '') ? [...items].sort((a, b) => key(a).localeCompare(key(b))) : items;
      }
      return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, sorted(child)])) : value;
    };
    for (const [key, doc] of byKey(signalObjects)) t.deepEqual(sorted(kustomized.get(key)), sorted(doc), key);
  }
  const objects = signalObjects;
  const spec = obj(obj(obj(objects.find((doc) => doc['kind'] === 'Deployment')?.['spec'])['template'])['spec']);
  t.is(spec['shareProcessNamespace'], true);
  const agentContainer = obj(list(spec['initContainers']).find((container) => obj(container)['name'] === 'secrets-agent'));
  const appContainer = obj(list(spec['containers']).find((container) => obj(container)['name'] === 'api-server'));
  t.is(obj(appContainer['securityContext'])['runAsUser'], obj(agentContainer['securityContext'])['runAsUser'], 'a signal needs the same UID');
  for (const container of [agentContainer, appContainer]) t.deepEqual(obj(obj(container['securityContext'])['capabilities'])['drop'], ['ALL'], 'no capability when node is executed: the execute-only node works');
  t.is(str(agentContainer['image']), `secrets-agent:${version}`, 'the image, whose node is execute-only');
  const config = parse(str(obj(objects.find((doc) => doc['kind'] === 'ConfigMap' && obj(doc['metadata'])['name'] === 'api-server-secrets-agent')?.['data'])['secrets-agent.yaml'])) as Json;
  const notifier = obj(obj(config['notifiers'])['api-server']);
  t.is(notifier['signal'], 'SIGHUP');
  const pidDir = dirname(str(notifier['pidFile']));
  const agentMount = list(agentContainer['volumeMounts']).map(obj).find((entry) => entry['name'] === 'app-run');
  t.like(agentMount ?? {}, { mountPath: pidDir, readOnly: true });
  t.like(list(appContainer['volumeMounts']).map(obj).find((entry) => entry['name'] === 'app-run') ?? {}, { mountPath: pidDir });
  t.like(list(appContainer['env']).map(obj).find((entry) => entry['name'] === 'RELOAD_MARKER') ?? {}, { value: '' });
  t.deepEqual({ ...config, notifiers: undefined }, { ...agentK8sConfig, notifiers: undefined }, 'only the notifier differs from the base configuration');
  const header = readFileText(join(examples, 'kubernetes-signal/kustomization.yaml')).split('\n').filter((line) => line.startsWith('#')).join('\n');
  t.regex(header, /Trade-off/, 'the trade-off is written at the top');
});

test('kubernetes: the config and templates come from ConfigMaps mounted where the agent looks', (t) => {
  const args = list(sidecar['args']).map(str);
  const configPath = args[args.indexOf('--config') + 1] ?? '';
  const config = volumeFor(sidecar, configPath);
  t.is(obj(config?.volume['configMap'])['name'], 'api-server-secrets-agent');
  t.true(Object.hasOwn(configMaps.get('api-server-secrets-agent') ?? {}, config?.relative ?? ''), 'the --config file is a key of the ConfigMap');
  t.like(mountOf(sidecar, 'agent-templates') ?? {}, { mountPath: agentK8sConfig['templates'], readOnly: true });
  t.is(obj(volumes.get('agent-templates')?.['configMap'])['name'], 'api-server-templates');
  const templates = Object.keys(configMaps.get('api-server-templates') ?? {});
  t.deepEqual(templates.sort(), ['app.env.hbs', 'config.json.hbs']);
  for (const name of templates) t.regex(str(configMaps.get('api-server-templates')?.[name]), /^notify: \[api-server\]$/m, name);
});

test('kubernetes: Vault auth uses the ServiceAccount through a projected token for audience vault, and the role and policy match', (t) => {
  const auth = obj(obj(agentK8sConfig['vault'])['auth']);
  t.is(auth['method'], 'kubernetes');
  t.is(obj(agentK8sConfig['vault'])['namespace'], 'dsta');
  const jwt = volumeFor(sidecar, str(auth['jwtFile']));
  const source = obj(obj(list(obj(jwt?.volume['projected'])['sources'])[0])['serviceAccountToken']);
  t.is(source['path'], jwt?.relative);
  t.is(source['audience'], 'vault');
  t.true(Number(source['expirationSeconds']) <= 3600, 'short-lived');
  t.is(mountOf(app, 'vault-token'), undefined, 'the app container gets no token');
  t.is(pod['automountServiceAccountToken'], false);
  const account = kind('ServiceAccount')[0] ?? {};
  t.is(pod['serviceAccountName'], obj(account['metadata'])['name']);
  t.is(account['automountServiceAccountToken'], false);
  const setup = readFileText(join(k8sDir, 'vault/setup.sh'));
  t.regex(setup, new RegExp(`auth/kubernetes/role/${str(auth['role'])} `));
  t.regex(setup, new RegExp(`bound_service_account_names=${str(obj(account['metadata'])['name'])} `));
  t.regex(setup, new RegExp(`bound_service_account_namespaces=${str(obj(account['metadata'])['namespace'])} `));
  t.regex(setup, /audience=vault /);
  const policy = /vault policy write (\S+) "\$here\/(\S+)"/.exec(setup);
  t.truthy(policy);
  t.regex(setup, new RegExp(`token_policies=${policy?.[1] ?? '-'} `));
  t.true(existsSync(join(k8sDir, 'vault', policy?.[2] ?? '-')));
  t.is(str(auth['mountPath']), 'kubernetes');
});

test('kubernetes: the kustomization lists every manifest and puts them in one namespace', async (t) => {
  const kustomization = parse(await readFile(join(k8sDir, 'kustomization.yaml'), 'utf8')) as Json;
  t.deepEqual(list(kustomization['resources']).map(str).sort(), [...k8sFiles].sort());
  for (const doc of docs.filter((item) => item['kind'] !== 'ClusterRoleBinding')) t.is(obj(doc['metadata'])['namespace'], kustomization['namespace']);
});

/** The value of an env entry of a container (a plain `value`, not a reference). */
const envValue = (container: Json, name: string): string | undefined => {
  const entry = list(container['env']).map(obj).find((item) => item['name'] === name);
  return entry === undefined ? undefined : str(entry['value']);
};

test('kubernetes: an https VAULT_ADDR comes with the CA: VAULT_CACERT in a read-only ConfigMap mount, and the README says how to create it', (t) => {
  const address = envValue(sidecar, 'VAULT_ADDR') ?? str(obj(agentK8sConfig['vault'])['address']);
  t.regex(address, /^https?:\/\//);
  if (!address.startsWith('https://')) return;
  const caCert = envValue(sidecar, 'VAULT_CACERT') ?? str(obj(agentK8sConfig['vault'])['caCert']);
  t.truthy(caCert, 'VAULT_CACERT is set: a private CA is not in the image\'s trust store');
  t.true(posix.isAbsolute(caCert), caCert);
  const held = volumeFor(sidecar, caCert);
  t.truthy(held, `${caCert} is inside a volume mounted into the agent container`);
  const mount = list(sidecar['volumeMounts']).map(obj).find((entry) => caCert.startsWith(`${str(entry['mountPath'])}/`));
  t.is(mount?.['readOnly'], true, 'mounted read-only');
  t.is(mount?.['subPath'], undefined, 'a directory mount (a subPath never sees an updated ConfigMap)');
  const configMap = obj(held?.volume['configMap']);
  const name = str(configMap['name']);
  t.truthy(name, 'the volume is a ConfigMap');
  // The key the file comes from: the path itself, or the item that maps a key onto it.
  const items = list(configMap['items']).map(obj);
  const key = items.length === 0 ? held?.relative : str(items.find((item) => item['path'] === held?.relative)?.['key']);
  t.truthy(key, `${held?.relative ?? ''} is one of the ConfigMap's items`);
  t.is(mountOf(app, str(mount?.['name'])), undefined, 'only the agent talks to Vault');
  // The operator creates the ConfigMap from the CA file, in the pod's namespace, before the rollout.
  const readme = readFileText(join(k8sDir, 'README.md')).split('\n').map((line) => line.trim());
  const namespace = str(obj(deployment['metadata'])['namespace']);
  const create = readme.findIndex((line) => new RegExp(`^kubectl\\b.*\\bcreate configmap ${name} .*--from-file=${key ?? '-'}=\\S+`).test(line));
  t.true(create >= 0, `README.md shows: kubectl -n ${namespace} create configmap ${name} --from-file=${key ?? '-'}=...`);
  t.regex(readme[create] ?? '', new RegExp(`(-n |--namespace[= ])${namespace}\\b`));
  const apply = readme.findIndex((line) => line.startsWith('kubectl apply -k '));
  t.true(create < apply, 'created before kubectl apply -k');
});

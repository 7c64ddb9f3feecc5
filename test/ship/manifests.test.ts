// The Kubernetes example keeps its promises: the manifests are parsed with the `yaml` package and checked for a
// memory-backed shared volume, no subPath, probes on the agent's endpoints, non-root read-only containers, separate
// UIDs and no shared process namespace by default (the kubernetes-signal overlay: one UID, one process namespace).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import test from 'ava';
import { parse, parseAllDocuments } from 'yaml';
import type { Json } from './manifest-helpers.js';
import { examples, list, obj, readFileText, str, version } from './manifest-helpers.js';


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

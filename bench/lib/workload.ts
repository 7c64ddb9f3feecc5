// The workloads of the benchmarks: a directory of templates (dotenv, JSON and YAML, as real deployments mix
// them), the secrets they read seeded into the Vault or AWS emulator, and a config file. Values are
// deterministic, so every run renders the same bytes.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsEmulator } from '../../test/fakes/aws/emulator.js';
import { EMULATOR_CREDENTIALS } from '../../test/fakes/aws/emulator.js';
import type { VaultEmulator } from '../../test/fakes/vault/index.js';

export interface Workload {
  readonly dir: string;
  readonly templatesDir: string;
  readonly outputDir: string;
  readonly configPath: string;
  /** The agent's environment (backend addresses and credentials). */
  readonly env: Record<string, string>;
  /** Destination file names, one per template. */
  readonly destinations: string[];
  /** Unique secret paths (what Vault is asked for: `a/b` for `a/b/key`). */
  readonly secrets: string[];
  /** The directory a `touch` notifier touches files in. */
  readonly touchDir: string;
  cleanup(): Promise<void>;
}

export interface WorkloadOptions {
  templates: number;
  secrets: number;
  listen?: string;
  /** Default: a schedule that never fires during a benchmark (1 January, 00:00). */
  schedule?: string;
  splay?: string;
  logLevel?: string;
  /** Every template notifies the `bench` notifier (a touch of `touchDir/bench`). */
  notify?: boolean;
  /** Where the scratch directory lives; default a tmpfs (/dev/shm) when there is one, as in production. */
  base?: string;
}

/** /dev/shm when it exists (tmpfs: what the agent writes to in production), else the OS temp dir. */
export function scratchBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** A deterministic value of `length` URL-safe characters for secret `index`, key `key`. */
export function value(index: number, key: string, generation = 0, length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let state = (index * 2654435761 + key.length * 40503 + generation * 97 + 12345) >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out += alphabet[state >>> 26] ?? 'x';
  }
  return `${key.slice(0, 3)}-${out}`;
}

export const KEYS = ['api_key', 'api_secret', 'url', 'username'] as const;

/** The data of secret `index` (four keys). */
export function secretData(index: number, generation = 0): Record<string, string> {
  return {
    api_key: value(index, 'api_key', generation),
    api_secret: value(index, 'api_secret', generation, 40),
    url: `https://svc-${index}.internal:8443/v1`,
    username: value(index, 'username', generation, 12),
  };
}

export function secretName(prefix: string, index: number): string {
  return `bench/${prefix}${String(index).padStart(4, '0')}`;
}

/** The secret indexes template `t` reads: every secret s with s % templates = t, or t % secrets when none. */
function assign(templates: number, secrets: number): number[][] {
  const out: number[][] = Array.from({ length: templates }, () => []);
  for (let s = 0; s < secrets; s++) out[s % templates]?.push(s);
  for (let t = 0; t < templates; t++) if (out[t]?.length === 0) out[t]?.push(t % secrets);
  return out;
}

type Format = 'env' | 'json' | 'yaml';

function formatOf(t: number): Format {
  const pick = t % 5;
  return pick === 3 ? 'json' : pick === 4 ? 'yaml' : 'env';
}

/** One template's text: front matter, then every key of each of its secrets, in its format. */
export function templateText(t: number, paths: readonly string[], notify: boolean): { name: string; destination: string; text: string } {
  const format = formatOf(t);
  const destination = `bench-${String(t).padStart(4, '0')}.${format}`;
  const front = notify ? '---\nnotify: [bench]\n---\n' : '';
  let body: string;
  if (format === 'env') {
    const lines = [`# bench template ${t}`];
    paths.forEach((path, i) => {
      lines.push(`S${i}_API_KEY={{secret "${path}/api_key"}}`, `S${i}_API_SECRET={{secret "${path}/api_secret"}}`, `S${i}_URL={{secret "${path}/url"}}`);
      // Every tenth template also iterates a whole secret, as the stock templates do.
      if (t % 10 === 0) lines.push(`{{#each (secrets "${path}")}}`, `S${i}_{{envName @key}}={{this}}`, '{{/each}}');
    });
    body = `${lines.join('\n')}\n`;
  } else if (format === 'json') {
    const entries = paths.map((path, i) => `  "s${i}": { "key": {{secret "${path}/api_key"}}, "secret": {{secret "${path}/api_secret"}}, "url": {{secret "${path}/url"}}, "user": {{secret "${path}/username"}} }`);
    body = `{\n${entries.join(',\n')}\n}\n`;
  } else {
    body = paths.map((path, i) => `s${i}:\n  key: {{secret "${path}/api_key"}}\n  secret: {{secret "${path}/api_secret"}}\n  url: {{secret "${path}/url"}}\n`).join('');
  }
  return { name: `${destination}.hbs`, destination, text: front + body };
}

async function scaffold(options: WorkloadOptions, paths: string[][], env: Record<string, string>, secrets: string[]): Promise<Workload> {
  const dir = await mkdtemp(join(options.base ?? scratchBase(), 'sa-bench-'));
  const templatesDir = join(dir, 'templates');
  const outputDir = join(dir, 'out');
  const touchDir = join(dir, 'touched');
  await mkdir(templatesDir, { recursive: true });
  await mkdir(touchDir, { recursive: true });
  const destinations: string[] = [];
  for (let t = 0; t < paths.length; t++) {
    const template = templateText(t, paths[t] ?? [], options.notify ?? false);
    destinations.push(template.destination);
    await writeFile(join(templatesDir, template.name), template.text);
  }
  const configPath = join(dir, 'config.yaml');
  const config = [
    `templates: ${templatesDir}`,
    `output: ${outputDir}`,
    `listen: "${options.listen ?? ''}"`,
    `schedule: "${options.schedule ?? '0 0 1 1 *'}"`,
    `splay: ${options.splay ?? '0s'}`,
    `log: { level: ${options.logLevel ?? 'info'}, audit: true }`,
    ...(options.notify ? ['notifiers:', `  bench: { touch: ${join(touchDir, 'bench')} }`] : []),
    '',
  ];
  await writeFile(configPath, config.join('\n'));
  return { dir, templatesDir, outputDir, configPath, env, destinations, secrets, touchDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `templates` templates over `secrets` unique Vault secrets (4 keys each), seeded into `vault`. */
export async function vaultWorkload(vault: VaultEmulator, options: WorkloadOptions): Promise<Workload> {
  const secrets = Array.from({ length: options.secrets }, (_, s) => secretName('svc', s));
  secrets.forEach((path, s) => vault.setSecret(path, secretData(s)));
  const paths = assign(options.templates, options.secrets).map((indexes) => indexes.map((s) => secrets[s] ?? ''));
  return scaffold(options, paths, { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token }, secrets);
}

/** `templates` templates over `secrets` unique AWS JSON secrets, seeded into `aws`; only AWS is configured. */
export async function awsWorkload(aws: AwsEmulator, options: WorkloadOptions): Promise<Workload> {
  const secrets = Array.from({ length: options.secrets }, (_, s) => secretName('aws', s));
  secrets.forEach((path, s) => aws.putSecret(path, secretData(s)));
  const paths = assign(options.templates, options.secrets).map((indexes) => indexes.map((s) => secrets[s] ?? ''));
  const env = {
    AWS_REGION: aws.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return scaffold(options, paths, env, secrets);
}

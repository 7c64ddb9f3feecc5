// The one schema of the configuration (docs/configuration.md). It validates the merged config (defaults < file < env <
// flags), turns durations into milliseconds, fills defaults, and is the source of the published JSON Schema.
import * as z from 'zod';
import { BACKEND_NAMES } from '../backends/names.js';
import { duration, filePath } from './fields.js';
import { notifiersSchema } from './notifiers.js';
import { cronProblem, isHttpUrl, parseListen } from './values.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const VAULT_AUTH_METHODS = ['token', 'approle', 'kubernetes'] as const;

/** Keys whose values are filesystem paths; `*` is any record key. Relative ones are resolved by loadConfig. */
export const PATH_KEYS: readonly (readonly string[])[] = [
  ['templates'], ['output'], ['file', 'path'],
  ['vault', 'caCert'], ['vault', 'clientCert'], ['vault', 'clientKey'],
  ['vault', 'auth', 'tokenFile'], ['vault', 'auth', 'roleIdFile'], ['vault', 'auth', 'secretIdFile'], ['vault', 'auth', 'jwtFile'],
  ['notifiers', '*', 'pidFile'], ['notifiers', '*', 'touch'],
];

/** Keys whose values are secrets: never echoed, and printed as `true` by redactConfig. */
export const SECRET_KEYS: readonly (readonly string[])[] = [['vault', 'auth', 'token'], ['notifiers', '*', 'http', 'headers', '*']];

const SEGMENTED = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const segmented = (what: string) => z.string().regex(SEGMENTED, `expected ${what}: segments of letters, digits, "_", "." or "-" separated by "/", with no leading or trailing "/"`);

const vaultAuthSchema = z
  .strictObject({
    method: z.enum(VAULT_AUTH_METHODS).default('token'),
    token: z.string().min(1, 'expected a non-empty token').optional(),
    tokenFile: filePath().optional(),
    roleIdFile: filePath().optional(),
    secretIdFile: filePath().optional(),
    role: z.string().min(1, 'expected a non-empty role name').optional(),
    jwtFile: filePath().default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    mountPath: segmented('an auth mount path').optional().describe('auth mount; default: the method name'),
  })
  .superRefine((auth, ctx) => {
    const need = (key: 'roleIdFile' | 'secretIdFile' | 'role') => {
      if (auth[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `required when vault.auth.method is "${auth.method}"` });
    };
    if (auth.method === 'approle') { need('roleIdFile'); need('secretIdFile'); }
    if (auth.method === 'kubernetes') need('role');
  })
  .transform(({ mountPath, ...auth }) => ({ ...auth, mountPath: mountPath ?? auth.method }));

const vaultSchema = z
  .strictObject({
    address: z.string().refine(isHttpUrl, 'expected an absolute http:// or https:// URL').optional(),
    namespace: z.string().default('dsta').describe('"" sends no X-Vault-Namespace header'),
    mount: segmented('a mount path').default('secret'),
    kvVersion: z.literal(['auto', 1, 2]).default('auto'),
    caCert: filePath().optional(),
    clientCert: filePath().optional(),
    clientKey: filePath().optional(),
    tlsSkipVerify: z.boolean().default(false),
    timeout: duration().prefault('10s'),
    revokeOnShutdown: z.boolean().default(false).describe('revoke the leases of vault helper calls on SIGTERM'),
    auth: vaultAuthSchema.prefault({}),
  })
  .superRefine((vault, ctx) => {
    if ((vault.clientCert === undefined) !== (vault.clientKey === undefined)) {
      const missing = vault.clientCert === undefined ? 'clientCert' : 'clientKey';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'vault.clientCert and vault.clientKey go together; set both or neither' });
    }
  });

const awsSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'expected an AWS region such as "us-east-1"').optional(),
  prefix: z.string().default(''),
  versionStage: z.string().min(1, 'expected a non-empty version stage').default('AWSCURRENT'),
});

const envBackendSchema = z.strictObject({
  prefix: z.string().regex(/^[A-Za-z0-9_]*$/, 'expected letters, digits and "_" only').default(''),
  map: z.record(segmented('a secret path'), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')).default({}),
});

// Why: min ≤ max is a relation between two keys, so it is checked on the object and reported on `min`.
function minMax(defaults: { min: string; max: string }) {
  return z
    .strictObject({ min: duration().prefault(defaults.min), max: duration().prefault(defaults.max) })
    .refine((range) => range.min <= range.max, { path: ['min'], error: 'min must not be greater than max' });
}

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
  format: z.enum(['json', 'pretty']).default('json'),
  audit: z.boolean().default(true),
});

const BACKEND_NEEDS = {
  vault: { key: ['vault', 'address'], label: 'vault.address (VAULT_ADDR)' },
  aws: { key: ['aws', 'region'], label: 'aws.region (AWS_REGION)' },
  file: { key: ['file', 'path'], label: 'file.path (SECRETS_AGENT_FILE)' },
} as const;

/** The whole configuration file. Every object is strict: an unknown key is an error. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('the JSON Schema this file follows (ignored by the agent)'),
    templates: filePath().default('/etc/secrets-agent/templates').describe('a directory of *.hbs templates'),
    output: filePath().default('/secrets').describe('where rendered files are written'),
    backend: z.enum(['auto', ...BACKEND_NAMES]).default('auto'),
    chain: z
      .array(z.enum(BACKEND_NAMES))
      .min(1, 'expected at least one backend')
      .superRefine((chain, ctx) => {
        chain.forEach((name, index) => {
          if (chain.indexOf(name) !== index) ctx.addIssue({ code: 'custom', path: [index], message: `"${name}" is listed more than once` });
        });
      })
      .default([...BACKEND_NAMES]),
    vault: vaultSchema.prefault({}),
    aws: awsSchema.prefault({}),
    file: z.strictObject({ path: filePath().optional() }).prefault({}),
    env: envBackendSchema.prefault({}),
    schedule: z
      .string()
      .superRefine((text, ctx) => {
        const problem = cronProblem(text);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('*/5 * * * *'),
    splay: duration().prefault('30s'),
    wait: minMax({ min: '0s', max: '0s' }).prefault({}),
    notifyOnStart: z.boolean().default(false),
    notifiers: notifiersSchema,
    listen: z
      .string()
      .refine((text) => text === '' || parseListen(text) !== undefined, 'expected host:port such as "127.0.0.1:9876" (port 1-65535), or "" to disable')
      .default('127.0.0.1:9876'),
    requireTmpfs: z.boolean().default(false),
    retry: minMax({ min: '250ms', max: '60s' })
      .refine((range) => range.min > 0, { path: ['min'], error: 'must be greater than 0s' })
      .prefault({}),
    rotation: z
      .strictObject({ auto: z.boolean().default(false).describe('true: run writes the next value of due generated secrets whose own policy says rotation-auto (docs/operations.md "Rotation")') })
      .prefault({}),
    log: logSchema.prefault({}),
  });

/**
 * The configuration a command that reaches its backends needs: a forced backend must be configured. `check`
 * without `--diff` lints offline (docs/commands.md) and parses with `configSchema` alone, so CI needs no VAULT_ADDR.
 */
export const runnableConfigSchema = configSchema
  .superRefine((config, ctx) => {
    if (config.backend === 'auto' || config.backend === 'env') return;
    const need = BACKEND_NEEDS[config.backend];
    const section: Record<string, unknown> = config[need.key[0]];
    if (section[need.key[1]] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['backend'], message: `backend is "${config.backend}" but ${need.label} is not set` });
    }
  });

/** The parsed configuration: defaults filled in, durations in milliseconds, paths absolute. */
export type Config = z.output<typeof configSchema>;
/** What a config file (or the merged sources) may hold before parsing. */
export type ConfigInput = z.input<typeof configSchema>;

// Why: editors validate config files against the published JSON Schema; tests compare it with the zod schema.
/** The JSON Schema (input side) of the configuration file. */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...schema } = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    $schema,
    title: 'secrets-agent configuration',
    description: 'The configuration file of secrets-agent (YAML or JSON). Durations are strings with units: 250ms, 30s, 5m, 2h, 90d.',
    ...schema,
  };
}

// `audit --all PREFIX`: every secret under a prefix, per writable backend of the chain. Vault lists with
// `?list=1` on the metadata tree (sub-trees end in "/"); AWS with ListSecrets and a name filter (the backend
// itself has no list, so this makes one client the same way it does: region from the config, the rest from
// the SDK's default chain, AWS_ENDPOINT_URL_SECRETS_MANAGER included).
import { isAws, isVault } from '../backends/create.js';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { classifyError, failureError } from '../backends/aws/failure.js';
import type { Backend } from '../backends/backend.js';
import type { VaultBackend } from '../backends/vault.js';
import type { Config } from '../config/schema.js';
import { AgentError } from '../errors.js';
import type { AgeTarget } from './ages.js';

/** More secrets than this under one prefix is a mistake (`--all ""` on a shared Vault), not an audit. */
export const LIST_LIMIT = 10_000;

/** `exchange/` or `/exchange` → `exchange`; `/` or `` → `` (everything). */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

/** Every secret under `prefix` in every Vault and AWS backend of `backends`, as map targets. */
export async function listAll(backends: readonly Backend[], prefix: string, aws: Config['aws']): Promise<AgeTarget[]> {
  const targets: AgeTarget[] = [];
  for (const backend of backends) {
    if (isVault(backend)) for (const path of await listVault(backend, normalizePrefix(prefix))) targets.push({ path, kind: 'map', backend: 'vault' });
    if (isAws(backend)) for (const path of await listAws(aws, normalizePrefix(prefix))) targets.push({ path, kind: 'map', backend: 'aws' });
  }
  return targets;
}

/** Why: Vault lists one level at a time; the prefix itself may be a secret as well as a folder. */
async function listVault(vault: VaultBackend, prefix: string): Promise<string[]> {
  const found: string[] = [];
  if (prefix !== '' && (await vault.readMetadata(prefix)) !== undefined) found.push(prefix);
  const folders = [prefix];
  for (let folder = folders.shift(); folder !== undefined; folder = folders.shift()) {
    for (const key of await vault.list(folder)) {
      const path = folder === '' ? key : `${folder}/${key}`;
      if (key.endsWith('/')) folders.push(path.slice(0, -1));
      else found.push(path);
      if (found.length + folders.length > LIST_LIMIT) throw tooMany('vault', prefix);
    }
  }
  return found.sort();
}

/** Why: a name filter is a prefix match on the full name, so the configured aws.prefix goes in front. */
async function listAws(config: Config['aws'], prefix: string): Promise<string[]> {
  const client = new SecretsManagerClient(config.region === undefined ? {} : { region: config.region });
  const full = `${config.prefix}${prefix}`;
  const names: string[] = [];
  try {
    let token: string | undefined;
    do {
      const site = { operation: 'ListSecrets', region: config.region ?? 'the default region' };
      let page;
      try {
        page = await client.send(new ListSecretsCommand({ ...(full === '' ? {} : { Filters: [{ Key: 'name', Values: [full] }] }), ...(token === undefined ? {} : { NextToken: token }) }));
      } catch (error) {
        throw failureError(classifyError(error, site), site);
      }
      for (const entry of page.SecretList ?? []) {
        const name = entry.Name?.startsWith(config.prefix) === true ? entry.Name.slice(config.prefix.length) : undefined;
        if (name !== undefined && entry.DeletedDate === undefined && (prefix === '' || name === prefix || name.startsWith(`${prefix}/`))) names.push(name);
      }
      if (names.length > LIST_LIMIT) throw tooMany('aws', prefix);
      token = page.NextToken;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
  return names.filter((name) => name !== '').sort();
}

function tooMany(backend: string, prefix: string): AgentError {
  return new AgentError('ERR_USAGE', `audit --all: more than ${LIST_LIMIT} secrets under "${prefix}" in ${backend}; give a narrower prefix`, { details: { backend, path: prefix } });
}

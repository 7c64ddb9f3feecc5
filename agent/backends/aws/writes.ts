// The writes behind `rotate` and `migrate`, and the metadata behind `audit`. AWS has no conditional write,
// so a JSON merge checks with DescribeSecret that AWSCURRENT is still the version it read before it puts.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AgentError, isAgentError } from '../../errors.js';
import { invalidPathReason, splitPath } from '../backend.js';
import type { StoredValue } from './content.js';
import { jsonObject, notAnObject, secretText } from './content.js';
import { classifyError, failureError } from './failure.js';
import type { SecretReader } from './reader.js';
import type { CallSite } from './site.js';
import { subject } from './site.js';

export interface WriteContext {
  readonly client: SecretsManagerClient;
  readonly reader: SecretReader;
  readonly prefix: string;
  readonly region: string;
  readonly versionStage: string;
}

export interface SecretMetadata {
  /** The AWS secret that holds the path: the JSON secret, or the plain one. */
  readonly secretId: string;
  readonly lastChanged?: Date;
  readonly lastRotated?: Date;
  /** The VersionId that carries the configured version stage. */
  readonly version?: string;
  /** The VersionId that carries AWSCURRENT (what a write replaces). */
  readonly currentVersion?: string;
  /** The secret's tags (where its rotation policy lives); undefined when it has none. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Why: every write names its target before touching AWS, and a bad path never becomes a secret name. */
function checkPath(path: string, what: string): void {
  const reason = invalidPathReason(path);
  if (reason !== undefined) throw new AgentError('ERR_USAGE', `aws backend: invalid ${what} "${path}": ${reason}`, { details: { backend: 'aws', path } });
}

/** Why: one wrapper maps every SDK failure of a write to the AgentError it means. */
export async function call<T>(site: CallSite, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw failureError(classifyError(error, site), site);
  }
}

/** Why: nothing is overwritten when AWSCURRENT moved since the read (someone wrote in between). */
async function checkUnchanged(ctx: WriteContext, stored: StoredValue): Promise<void> {
  const site: CallSite = { operation: 'DescribeSecret', region: ctx.region, secretId: stored.id };
  const described = await call(site, () => ctx.client.send(new DescribeSecretCommand({ SecretId: stored.id })));
  const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (current !== stored.versionId) {
    throw new AgentError('ERR_CAS_CONFLICT', `aws backend: ${subject(site)} changed while it was being updated (AWSCURRENT moved from version ${stored.versionId ?? '?'} to ${current ?? 'none'}); nothing was written - run the command again`, { details: { backend: 'aws', region: ctx.region, secretId: stored.id } });
  }
}

/** Merge `data` into the JSON object of `stored` and put it as the new AWSCURRENT, unless nothing changes. */
async function mergeInto(ctx: WriteContext, stored: StoredValue, data: Readonly<Record<string, string>>): Promise<{ version: string; changed: boolean }> {
  const object = jsonObject(secretText(stored, ctx.region));
  if (object === undefined) throw notAnObject(stored, ctx.region, { key: Object.keys(data)[0] });
  if (Object.entries(data).every(([key, value]) => Object.hasOwn(object, key) && object[key] === value)) return { version: stored.versionId ?? '', changed: false };
  await checkUnchanged(ctx, stored);
  // Keys keep their order; entries (not assignment) so a "__proto__" key stays data.
  const merged = Object.fromEntries([...Object.entries(object).map(([key, value]) => [key, Object.hasOwn(data, key) ? data[key] : value] as const), ...Object.entries(data).filter(([key]) => !Object.hasOwn(object, key))]);
  return { version: await put(ctx, stored.id, JSON.stringify(merged)), changed: true };
}

/** PutSecretValue: the new version becomes AWSCURRENT and the old one AWSPREVIOUS. */
async function put(ctx: WriteContext, secretId: string, text: string): Promise<string> {
  const site: CallSite = { operation: 'PutSecretValue', region: ctx.region, secretId };
  const answer = await call(site, () => ctx.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text })));
  if (answer.VersionId === undefined) throw new AgentError('ERR_BACKEND_RESPONSE', `aws backend: ${subject(site)}: PutSecretValue answered without a VersionId`, { details: { backend: 'aws', secretId } });
  return answer.VersionId;
}

/** Read AWSCURRENT (what a write replaces), whatever stage the agent renders. */
export async function current(ctx: WriteContext, secretId: string): Promise<StoredValue | undefined> {
  const result = await ctx.reader.getOne(secretId, 'AWSCURRENT');
  if (result.status === 'found') return result.value;
  if (result.status === 'not_found') return undefined;
  throw failureError(result, { operation: 'GetSecretValue', region: ctx.region, secretId });
}

/** rotate: a new version of one key: merged into the JSON secret, or replacing the plain secret. */
export async function putValue(ctx: WriteContext, path: string, value: string): Promise<{ version: string }> {
  checkPath(path, 'secret path');
  const { secret, key } = splitPath(path);
  if (secret !== '') {
    const stored = await current(ctx, `${ctx.prefix}${secret}`);
    if (stored) return { version: (await mergeInto(ctx, stored, { [key]: value })).version };
  }
  const plain = `${ctx.prefix}${path}`;
  try {
    return { version: await put(ctx, plain, value) };
  } catch (error) {
    if (!isAgentError(error, 'ERR_SECRET_NOT_FOUND')) throw error;
    if (error.details['awsError'] === 'InvalidRequestException') {
      // Not found because it is marked for deletion: migrate cannot create it again until it is gone or restored.
      throw new AgentError('ERR_SECRET_NOT_FOUND', `aws backend: the plain secret "${plain}" in ${ctx.region} is marked for deletion; restore it (RestoreSecret) to rotate it`, { details: { backend: 'aws', region: ctx.region, path } });
    }
    const json = secret === '' ? '' : `the JSON secret "${ctx.prefix}${secret}" nor `;
    throw new AgentError('ERR_SECRET_NOT_FOUND', `aws backend: neither ${json}the plain secret "${plain}" exists in ${ctx.region}; rotate writes new versions of existing secrets - create it first (migrate)`, { details: { backend: 'aws', region: ctx.region, path } });
  }
}

/** migrate: a new JSON secret; an existing one is a conflict unless `merge` adds the keys to it. */
export async function createSecret(ctx: WriteContext, secret: string, data: Readonly<Record<string, string>>, options: { merge?: boolean }): Promise<{ version: string; changed: boolean }> {
  checkPath(secret, 'secret name');
  const name = `${ctx.prefix}${secret}`;
  const site: CallSite = { operation: 'CreateSecret', region: ctx.region, secretId: name };
  try {
    const answer = await ctx.client.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(data) }));
    return { version: answer.VersionId ?? '', changed: true };
  } catch (error) {
    const failure = classifyError(error, site);
    if (failure.code !== 'ResourceExistsException') throw failureError(failure, site);
  }
  if (options.merge !== true) {
    throw new AgentError('ERR_CAS_CONFLICT', `aws backend: ${subject(site)} already exists; nothing was written - merge the keys into it instead, or delete it first`, { details: { backend: 'aws', region: ctx.region, secretId: name } });
  }
  const stored = await current(ctx, name);
  if (!stored) throw new AgentError('ERR_CAS_CONFLICT', `aws backend: ${subject(site)} exists but has no AWSCURRENT value (deleted in between?); nothing was written`, { details: { backend: 'aws', secretId: name } });
  return mergeInto(ctx, stored, data);
}

/** audit: LastChangedDate/LastRotatedDate of the secret that holds `path` (JSON secret first, then plain). */
export async function describe(ctx: WriteContext, path: string, kind: 'value' | 'map'): Promise<SecretMetadata | undefined> {
  checkPath(path, 'secret path');
  const { secret } = splitPath(path);
  const ids = kind === 'map' || secret === '' ? [`${ctx.prefix}${path}`] : [`${ctx.prefix}${secret}`, `${ctx.prefix}${path}`];
  for (const secretId of ids) {
    const site: CallSite = { operation: 'DescribeSecret', region: ctx.region, secretId };
    let answer;
    try {
      answer = await ctx.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    } catch (error) {
      const failure = classifyError(error, site);
      if (failure.status === 'not_found') continue;
      throw failureError(failure, site);
    }
    if (answer.DeletedDate !== undefined) continue;
    const version = Object.entries(answer.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(ctx.versionStage))?.[0];
    const currentVersion = Object.entries(answer.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    const tags = answer.Tags === undefined || answer.Tags.length === 0 ? undefined : Object.fromEntries(answer.Tags.flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])));
    return {
      secretId,
      ...(currentVersion === undefined ? {} : { currentVersion }),
      ...(tags === undefined ? {} : { tags }),
      ...(answer.LastChangedDate === undefined ? {} : { lastChanged: answer.LastChangedDate }),
      ...(answer.LastRotatedDate === undefined ? {} : { lastRotated: answer.LastRotatedDate }),
      ...(version === undefined ? {} : { version }),
    };
  }
  return undefined;
}

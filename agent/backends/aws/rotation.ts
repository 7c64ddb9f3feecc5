// The AWS side of scheduled rotation (docs/operations.md "Rotation"): the policy as tags on the secret that holds a
// path (TagResource/UntagResource, other tags kept), when the AWSCURRENT version was created (ListSecretVersionIds,
// no value read), and the auto-rotation write: PutSecretValue with a ClientRequestToken derived from the secret and
// the VersionId it replaces, so every replica that races for the same rotation names the same new version and
// Secrets Manager keeps exactly one (the same token with other data is ResourceExistsException).
import { createHash } from 'node:crypto';
import { DescribeSecretCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { AgentError } from '../../errors.js';
import { invalidPathReason, splitPath } from '../backend.js';
import { jsonObject, notAnObject } from './content.js';
import { classifyError, failureError } from './failure.js';
import type { CallSite } from './site.js';
import { subject } from './site.js';
import type { WriteContext } from './writes.js';
import { call, current } from './writes.js';

// Why removals first: AWS has no call that does both, and a removal is what turns automation off (rotation-auto,
// rotation-generate). Set first, a denied or failed UntagResource left the new period with the old auto, while
// rotate said it failed; removed first, a failure leaves the policy before, or one with less automation.
/** Set (string) or remove (null) tags on `secretId`; tags not named are kept. */
export async function setTags(ctx: WriteContext, secretId: string, labels: Readonly<Record<string, string | null>>): Promise<void> {
  const set = Object.entries(labels).flatMap(([Key, Value]) => (Value === null ? [] : [{ Key, Value }]));
  const remove = Object.entries(labels).flatMap(([key, value]) => (value === null ? [key] : []));
  if (remove.length > 0) await call({ operation: 'UntagResource', region: ctx.region, secretId }, () => ctx.client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: remove })));
  if (set.length > 0) await call({ operation: 'TagResource', region: ctx.region, secretId }, () => ctx.client.send(new TagResourceCommand({ SecretId: secretId, Tags: set })));
}

// Why: LastChangedDate moves when tags change (AWS: "modified in any way"), so the age of a secret is the
// creation of the version it serves, which only a new value moves.
/** CreatedDate of the version with AWSCURRENT; undefined when none is listed. */
export async function currentCreated(ctx: WriteContext, secretId: string): Promise<Date | undefined> {
  const site: CallSite = { operation: 'ListSecretVersionIds', region: ctx.region, secretId };
  let token: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    const answer = await call(site, () => ctx.client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, ...(token === undefined ? {} : { NextToken: token }) })));
    const current = answer.Versions?.find((version) => version.VersionStages?.includes('AWSCURRENT'));
    if (current) return current.CreatedDate;
    token = answer.NextToken;
    if (token === undefined) break;
  }
  return undefined;
}

/**
 * The ClientRequestToken of "the rotation that replaces `versionId` of `secretId`": the same for every replica,
 * shaped as a UUID (36 characters, within the 32-64 the API allows), and telling nothing about the value. `attempt`
 * counts the tokens of that rotation spent before (a rollback put `versionId` back as AWSCURRENT).
 */
export function rotationToken(secretId: string, versionId: string, attempt = 0): string {
  const hex = createHash('sha256').update(`secrets-agent rotation\0${secretId}\0${versionId}${attempt === 0 ? '' : `\0${attempt}`}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The conflict a losing replica reports: someone else's version replaced `expected` first. */
function conflict(ctx: WriteContext, secretId: string, expected: string, now: string | undefined): AgentError {
  const site: CallSite = { operation: 'PutSecretValue', region: ctx.region, secretId };
  return new AgentError('ERR_CAS_CONFLICT', `aws backend: ${subject(site)} was rotated by another writer (AWSCURRENT is ${now ?? 'another version'}, not ${expected}); nothing was written`, { details: { backend: 'aws', region: ctx.region, secretId } });
}

/**
 * Auto-rotation: key `key` of the JSON secret `<prefix><secret>` (or the plain secret `<prefix><path>`) replaced,
 * only while AWSCURRENT is `expected`, put with rotationToken(secret, expected).
 */
export async function replaceValue(ctx: WriteContext, path: string, value: string, expected: string): Promise<{ version: string }> {
  const reason = invalidPathReason(path);
  if (reason !== undefined) throw new AgentError('ERR_USAGE', `aws backend: invalid secret path "${path}": ${reason}`, { details: { backend: 'aws', path } });
  // Why: the put moves AWSCURRENT; an agent that renders another stage would never serve the new value (nor see the
  // old one stop being due), and would change what every AWSCURRENT reader gets.
  if (ctx.versionStage !== 'AWSCURRENT') {
    throw new AgentError('ERR_CONFIG_INVALID', `aws backend: cannot rotate "${path}" automatically: this agent renders version stage "${ctx.versionStage}" (aws.versionStage), and a rotation writes AWSCURRENT; set rotation.auto: false here and rotate from an agent that serves AWSCURRENT`, { details: { backend: 'aws', region: ctx.region, path } });
  }
  const { secret, key } = splitPath(path);
  let stored = secret === '' ? undefined : await current(ctx, `${ctx.prefix}${secret}`);
  let text = value;
  if (stored) {
    const object = jsonObject(typeof stored.secretString === 'string' ? stored.secretString : '');
    if (object === undefined) throw notAnObject(stored, ctx.region, { key });
    text = JSON.stringify(Object.fromEntries([...Object.entries(object).map(([name, old]) => [name, name === key ? value : old] as const), ...(Object.hasOwn(object, key) ? [] : [[key, value] as const])]));
  } else {
    stored = await current(ctx, `${ctx.prefix}${path}`);
    if (!stored) throw new AgentError('ERR_SECRET_NOT_FOUND', `aws backend: cannot rotate "${path}": no secret holds it in ${ctx.region}`, { details: { backend: 'aws', region: ctx.region, path } });
  }
  if (stored.versionId !== expected) throw conflict(ctx, stored.id, expected, stored.versionId);
  const site: CallSite = { operation: 'PutSecretValue', region: ctx.region, secretId: stored.id };
  for (let attempt = 0; attempt < TOKEN_ATTEMPTS; attempt++) {
    const token = rotationToken(stored.id, expected, attempt);
    try {
      const answer = await ctx.client.send(new PutSecretValueCommand({ SecretId: stored.id, SecretString: text, ClientRequestToken: token }));
      return { version: answer.VersionId ?? token };
    } catch (error) {
      const failure = classifyError(error, site);
      if (failure.code !== 'ResourceExistsException') throw failureError(failure, site);
      // The same token with other data: another replica's put of this very rotation landed first - unless
      // AWSCURRENT is still `expected`: then an earlier rotation of it was rolled back, its token is spent for good,
      // and the next token of the sequence (which every replica derives alike) names this rotation.
      const now = await currentVersion(ctx, stored.id);
      if (now !== expected) throw conflict(ctx, stored.id, expected, now);
    }
  }
  throw new AgentError('ERR_CAS_CONFLICT', `aws backend: ${subject(site)}: version ${expected} was rotated and rolled back ${TOKEN_ATTEMPTS} times; nothing was written - rotate it by hand (secrets-agent rotate --generate N)`, { details: { backend: 'aws', region: ctx.region, secretId: stored.id } });
}

/** How many rotations of one version may have been rolled back before the agent stops putting new ones. */
const TOKEN_ATTEMPTS = 4;

/** The VersionId that holds AWSCURRENT now (DescribeSecret: no value read). */
async function currentVersion(ctx: WriteContext, secretId: string): Promise<string | undefined> {
  const described = await call({ operation: 'DescribeSecret', region: ctx.region, secretId }, () => ctx.client.send(new DescribeSecretCommand({ SecretId: secretId })));
  return Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
}

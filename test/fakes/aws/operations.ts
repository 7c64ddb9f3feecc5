// One handler per Secrets Manager operation: validate the input members the way the service does, act on
// the model, and return the output members (dates and blobs are encoded by the wire layer).
import type { SecretValue, SecretsState, StoredSecret, SecretVersion } from './state.js';
import { stagesMap, tagList } from './state.js';
import { AwsFault, optionalBlob, optionalString, requireString } from './wire.js';

export interface OperationContext {
  readonly state: SecretsState;
  /** Secret names the caller's policy does not allow (AccessDeniedException, per secret). */
  readonly denied: ReadonlySet<string>;
}

type Input = Record<string, unknown>;
type Handler = (ctx: OperationContext, input: Input) => Record<string, unknown>;

/** Why: IAM decides before the secret is looked up, so a denied name is denied whether or not it exists. */
function checkAllowed(ctx: OperationContext, secretId: string, action: string): void {
  const name = ctx.state.find(secretId)?.name ?? secretId;
  if (ctx.denied.has(name)) {
    throw new AwsFault('AccessDeniedException', `User: arn:aws:iam::${ctx.state.account}:user/emulator is not authorized to perform: secretsmanager:${action} on resource: ${name} because no identity-based policy allows the secretsmanager:${action} action`);
  }
}

/** Why: exactly one of SecretString and SecretBinary carries a value (PutSecretValue, CreateSecret). */
function readValue(input: Input, required: boolean): SecretValue | undefined {
  const text = optionalString(input, 'SecretString');
  const binary = optionalBlob(input, 'SecretBinary');
  if (text !== undefined && binary !== undefined) throw new AwsFault('InvalidParameterException', 'You can\'t specify both a binary secret value and a string secret value in the same secret.');
  if (text !== undefined) return { string: text };
  if (binary !== undefined) return { binary };
  if (required) throw new AwsFault('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  return undefined;
}

/** Why: GetSecretValue and each BatchGetSecretValue entry share one shape (SecretValueEntry). */
function valueEntry(secret: StoredSecret, version: SecretVersion): Record<string, unknown> {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    ...('string' in version.value ? { SecretString: version.value.string } : { SecretBinary: version.value.binary }),
    VersionStages: [...version.stages],
    CreatedDate: version.created,
  };
}

/** Why: one read path for GetSecretValue and each batch member, so both fail identically. */
function readSecret(ctx: OperationContext, secretId: string, select: { versionId?: string | undefined; versionStage?: string | undefined }): Record<string, unknown> {
  checkAllowed(ctx, secretId, 'GetSecretValue');
  const secret = ctx.state.live(secretId);
  const version = ctx.state.version(secret, select);
  ctx.state.touch(secret);
  return valueEntry(secret, version);
}

/** Why: Filter keys are prefix matches, case-sensitive for name, and a leading "!" negates. */
function matches(secret: StoredSecret, filters: unknown): boolean {
  if (filters === undefined) return true;
  if (!Array.isArray(filters) || filters.length > 10) throw new AwsFault('InvalidParameterException', 'Filters must be a list of at most 10 filters');
  return filters.every((filter: unknown) => {
    const { Key: key, Values: values } = (filter ?? {}) as { Key?: unknown; Values?: unknown };
    if ((key !== 'name' && key !== 'all' && key !== 'description') || !Array.isArray(values)) throw new AwsFault('InvalidParameterException', `emulator: filter key ${String(key)} is not supported (name, description, all)`);
    return values.some((raw: unknown) => {
      const text = String(raw);
      const negate = text.startsWith('!');
      const prefix = negate ? text.slice(1) : text;
      const hit = key === 'name' ? secret.name.startsWith(prefix) : [secret.name, secret.description ?? ''].some((field) => field.toLowerCase().startsWith(prefix.toLowerCase()));
      return negate ? !hit : hit;
    });
  });
}

/** Why: NextToken is opaque to the client; an offset in base64 is enough for an emulator. */
function page<T>(items: T[], input: Input, max: number, fallback: number): { items: T[]; NextToken?: string } {
  const size = input['MaxResults'] === undefined ? fallback : Number(input['MaxResults']);
  if (!Number.isInteger(size) || size < 1 || size > max) throw new AwsFault('InvalidParameterException', `MaxResults must be between 1 and ${max}`);
  const token = optionalString(input, 'NextToken');
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw new AwsFault('InvalidNextTokenException', 'The NextToken value is invalid.');
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { NextToken: Buffer.from(String(end)).toString('base64') } : {}) };
}

const getSecretValue: Handler = (ctx, input) =>
  readSecret(ctx, requireString(input, 'SecretId'), { versionId: optionalString(input, 'VersionId'), versionStage: optionalString(input, 'VersionStage') });

const batchGetSecretValue: Handler = (ctx, input) => {
  const ids = input['SecretIdList'];
  if (ids !== undefined && input['Filters'] !== undefined) throw new AwsFault('InvalidParameterException', 'You can\'t specify both SecretIdList and Filters.');
  let targets: string[];
  let next: string | undefined;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20 || !ids.every((id) => typeof id === 'string')) {
      throw new AwsFault('InvalidParameterException', "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length between 1 and 20");
    }
    if (input['MaxResults'] !== undefined) throw new AwsFault('InvalidParameterException', 'MaxResults can only be used with Filters.');
    targets = ids;
  } else {
    if (input['Filters'] === undefined) throw new AwsFault('InvalidParameterException', 'You must specify either SecretIdList or Filters.');
    const found = page(ctx.state.all().filter((secret) => !secret.deleted && matches(secret, input['Filters'])), input, 20, 20);
    targets = found.items.map((secret) => secret.name);
    next = found.NextToken;
  }
  const values: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const id of targets) {
    try {
      values.push(readSecret(ctx, id, {}));
    } catch (error) {
      if (!(error instanceof AwsFault)) throw error;
      errors.push({ SecretId: id, ErrorCode: error.code, Message: error.message });
    }
  }
  return { SecretValues: values, Errors: errors, NextToken: next };
};

const describeSecret: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'DescribeSecret');
  const secret = ctx.state.find(secretId);
  if (!secret) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    LastRotatedDate: secret.lastRotated,
    LastChangedDate: secret.lastChanged,
    LastAccessedDate: secret.lastAccessed,
    DeletedDate: secret.deleted,
    Tags: tagList(secret),
    VersionIdsToStages: stagesMap(secret),
    CreatedDate: secret.created,
  };
};

/** Why: Tags is a list of {Key, Value}; anything else is the client's error, answered before the model is touched. */
function readTags(input: Input): { key: string; value: string }[] {
  const tags = input['Tags'];
  if (!Array.isArray(tags)) throw new AwsFault('InvalidParameterException', "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null");
  return tags.map((tag: unknown) => {
    const { Key: key, Value: value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof key !== 'string' || (value !== undefined && typeof value !== 'string')) throw new AwsFault('InvalidParameterException', 'Each tag needs a string Key and a string Value.');
    return { key, value: value ?? '' };
  });
}

/** TagResource: adds or overwrites tags; the answer has no members. */
const tagResource: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'TagResource');
  const tags = readTags(input);
  ctx.state.tag(ctx.state.live(secretId), tags);
  return {};
};

/** UntagResource: removes the keys in TagKeys; the answer has no members. */
const untagResource: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'UntagResource');
  const keys = input['TagKeys'];
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) throw new AwsFault('InvalidParameterException', "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must not be null");
  ctx.state.untag(ctx.state.live(secretId), keys);
  return {};
};

/**
 * ListSecretVersionIds: each labelled version with its stages and CreatedDate (IncludeDeprecated adds the
 * unlabelled ones), newest first; never a value.
 */
const listSecretVersionIds: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'ListSecretVersionIds');
  const secret = ctx.state.live(secretId);
  const all = [...secret.versions.values()].filter((version) => input['IncludeDeprecated'] === true || version.stages.size > 0).reverse();
  const found = page(all, input, 100, 100);
  return {
    Versions: found.items.map((version) => ({ VersionId: version.id, VersionStages: [...version.stages], CreatedDate: version.created })),
    NextToken: found.NextToken,
    ARN: secret.arn,
    Name: secret.name,
  };
};

const listSecrets: Handler = (ctx, input) => {
  const include = input['IncludePlannedDeletion'] === true;
  const all = ctx.state.all().filter((secret) => (include || !secret.deleted) && matches(secret, input['Filters']));
  const found = page(all, input, 100, 100);
  return {
    SecretList: found.items.map((secret) => ({
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      LastRotatedDate: secret.lastRotated,
      LastChangedDate: secret.lastChanged,
      LastAccessedDate: secret.lastAccessed,
      DeletedDate: secret.deleted,
      Tags: tagList(secret),
      SecretVersionsToStages: stagesMap(secret),
      CreatedDate: secret.created,
    })),
    NextToken: found.NextToken,
  };
};

const putSecretValue: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'PutSecretValue');
  const secret = ctx.state.live(secretId);
  const value = readValue(input, true);
  const stages = input['VersionStages'];
  if (stages !== undefined && (!Array.isArray(stages) || stages.length < 1 || stages.length > 20)) throw new AwsFault('InvalidParameterException', 'VersionStages must hold 1 to 20 labels');
  const version = ctx.state.put(secret, value as SecretValue, { token: optionalString(input, 'ClientRequestToken'), stages: stages as string[] | undefined });
  return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
};

const createSecret: Handler = (ctx, input) => {
  const name = requireString(input, 'Name', 512);
  checkAllowed(ctx, name, 'CreateSecret');
  const tags = input['Tags'] === undefined ? [] : readTags(input);
  const { secret, version } = ctx.state.create(name, readValue(input, false), { token: optionalString(input, 'ClientRequestToken'), description: optionalString(input, 'Description') });
  if (tags.length > 0) ctx.state.tag(secret, tags);
  return { ARN: secret.arn, Name: secret.name, VersionId: version?.id };
};

/** Why: a recovery window of 7 to 30 days (default 30), or none with ForceDeleteWithoutRecovery, never both. */
const deleteSecret: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  const force = input['ForceDeleteWithoutRecovery'];
  const window = input['RecoveryWindowInDays'];
  if (force !== undefined && typeof force !== 'boolean') throw new AwsFault('InvalidParameterException', "1 validation error detected: Value at 'forceDeleteWithoutRecovery' must be a boolean");
  if (window !== undefined && (typeof window !== 'number' || !Number.isInteger(window) || window < 7 || window > 30)) {
    throw new AwsFault('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  if (force === true && window !== undefined) throw new AwsFault('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  checkAllowed(ctx, secretId, 'DeleteSecret');
  const secret = ctx.state.find(secretId);
  if (!secret) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  const when = ctx.state.delete(secret, { force: force === true, recoveryWindowInDays: window ?? 30 });
  return { ARN: secret.arn, Name: secret.name, DeletionDate: when };
};

/** RestoreSecret: cancels a scheduled deletion (DeletedDate removed); the secret's versions are untouched. */
const restoreSecret: Handler = (ctx, input) => {
  const secretId = requireString(input, 'SecretId');
  checkAllowed(ctx, secretId, 'RestoreSecret');
  const secret = ctx.state.find(secretId);
  if (!secret) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  ctx.state.restore(secret);
  return { ARN: secret.arn, Name: secret.name };
};

/** The operations the emulator speaks, by the name in `X-Amz-Target: secretsmanager.<Op>`. */
export const operations: Readonly<Record<string, Handler>> = {
  GetSecretValue: getSecretValue,
  BatchGetSecretValue: batchGetSecretValue,
  DescribeSecret: describeSecret,
  ListSecrets: listSecrets,
  PutSecretValue: putSecretValue,
  CreateSecret: createSecret,
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListSecretVersionIds: listSecretVersionIds,
};

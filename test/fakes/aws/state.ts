// The emulator's model of Secrets Manager: secrets with ARNs, versions and staging labels, moved exactly as
// PutSecretValue moves them (AWSCURRENT to the new version, AWSPREVIOUS to the old current one).
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsFault } from './wire.js';

export type SecretValue = { readonly string: string } | { readonly binary: Buffer };

export interface SecretVersion {
  readonly id: string;
  readonly value: SecretValue;
  readonly created: Date;
  readonly stages: Set<string>;
}

export interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly created: Date;
  description?: string;
  lastChanged: Date;
  lastAccessed?: Date;
  lastRotated?: Date;
  deleted?: Date;
  readonly versions: Map<string, SecretVersion>;
  /** Tags by key, in the order they were first set (DescribeSecret lists them). */
  readonly tags: Map<string, string>;
}

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Why: the ARN ends in "-" and 6 random characters, which is how a partial ARN is told from a full one. */
function arnSuffix(): string {
  return [...randomBytes(6)].map((byte) => SUFFIX[byte % SUFFIX.length]).join('');
}

/** Why: PutSecretValue's idempotency compares the data, not the object. */
function sameValue(a: SecretValue, b: SecretValue): boolean {
  if ('string' in a) return 'string' in b && a.string === b.string;
  return 'binary' in b && a.binary.equals(b.binary);
}

export class SecretsState {
  readonly #secrets = new Map<string, StoredSecret>();

  constructor(
    readonly region: string,
    readonly account: string,
    private readonly now: () => Date,
  ) {}

  /** Every secret, sorted by name, for ListSecrets. */
  all(): StoredSecret[] {
    return [...this.#secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A SecretId is a name, a full ARN, or a partial ARN (without the random suffix). */
  find(secretId: string): StoredSecret | undefined {
    const byName = this.#secrets.get(secretId);
    if (byName) return byName;
    return this.all().find((secret) => secret.arn === secretId || secret.arn.slice(0, -7) === secretId);
  }

  /**
   * Why: most operations need a live secret; a missing or deleted one fails the same way AWS fails. A secret
   * scheduled for deletion answers HTTP 400 InvalidRequestException with exactly this message, for
   * GetSecretValue and, as an `Errors` entry with the same code and message, for each BatchGetSecretValue id.
   */
  live(secretId: string): StoredSecret {
    const secret = this.find(secretId);
    if (!secret) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    if (secret.deleted) throw new AwsFault('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    return secret;
  }

  /** CreateSecret: a new secret, with an AWSCURRENT version when a value is given. */
  create(name: string, value: SecretValue | undefined, options: { token?: string | undefined; description?: string | undefined } = {}): { secret: StoredSecret; version?: SecretVersion } {
    if (!NAME.test(name)) throw new AwsFault('InvalidParameterException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    const existing = this.#secrets.get(name);
    if (existing?.deleted) throw new AwsFault('InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
    if (existing) throw new AwsFault('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const now = this.now();
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-${arnSuffix()}`,
      created: now,
      lastChanged: now,
      versions: new Map(),
      tags: new Map(),
      ...(options.description === undefined ? {} : { description: options.description }),
    };
    this.#secrets.set(name, secret);
    if (value === undefined) return { secret };
    return { secret, version: this.put(secret, value, { token: options.token }) };
  }

  /**
   * TagResource: each tag set, a key already there overwritten. Why the checks: the service refuses more than 50
   * tags on a secret, keys of 1-128 and values of 0-256 characters only, and the reserved "aws:" prefix.
   */
  tag(secret: StoredSecret, tags: readonly { readonly key: string; readonly value: string }[]): void {
    for (const { key, value } of tags) {
      if (key.length < 1 || key.length > 128 || value.length > 256) throw new AwsFault('InvalidParameterException', 'Tag keys must be 1 to 128 characters and values 0 to 256 characters.');
      if (key.toLowerCase().startsWith('aws:')) throw new AwsFault('InvalidParameterException', 'Tag keys with the prefix aws: are reserved for AWS use.');
    }
    const keys = new Set([...secret.tags.keys(), ...tags.map((tag) => tag.key)]);
    if (keys.size > 50) throw new AwsFault('LimitExceededException', 'A secret can have at most 50 tags.');
    for (const { key, value } of tags) secret.tags.set(key, value);
    secret.lastChanged = this.now();
  }

  /** UntagResource: the named keys removed; a key that is not there is ignored. */
  untag(secret: StoredSecret, keys: readonly string[]): void {
    for (const key of keys) secret.tags.delete(key);
    secret.lastChanged = this.now();
  }

  /** PutSecretValue: a new version that takes the given labels (default AWSCURRENT) from older versions. */
  put(secret: StoredSecret, value: SecretValue, options: { token?: string | undefined; stages?: readonly string[] | undefined } = {}): SecretVersion {
    // Why: the model bounds ClientRequestToken to 32-64 characters; the SDK fills a UUID when none is given.
    if (options.token !== undefined && (options.token.length < 32 || options.token.length > 64)) throw new AwsFault('InvalidParameterException', "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64");
    const id = options.token ?? randomUUID();
    const existing = secret.versions.get(id);
    if (existing) {
      if (sameValue(existing.value, value)) return existing;
      throw new AwsFault('ResourceExistsException', 'You can\'t modify an existing version, you can only create a new version.');
    }
    const stages = options.stages ?? ['AWSCURRENT'];
    const version: SecretVersion = { id, value, created: this.now(), stages: new Set() };
    for (const stage of stages) this.#moveStage(secret, stage, version);
    secret.versions.set(id, version);
    secret.lastChanged = version.created;
    return version;
  }

  /** Why: moving AWSCURRENT also moves AWSPREVIOUS to the version that held AWSCURRENT. */
  #moveStage(secret: StoredSecret, stage: string, to: SecretVersion): void {
    for (const version of secret.versions.values()) {
      if (!version.stages.has(stage)) continue;
      version.stages.delete(stage);
      if (stage === 'AWSCURRENT') {
        for (const other of secret.versions.values()) other.stages.delete('AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
    to.stages.add(stage);
  }

  /** GetSecretValue's version selection: by id, by stage, both (must agree), or AWSCURRENT. */
  version(secret: StoredSecret, options: { versionId?: string | undefined; versionStage?: string | undefined }): SecretVersion {
    const { versionId, versionStage } = options;
    if (versionId !== undefined) {
      const version = secret.versions.get(versionId);
      if (!version) throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      if (versionStage !== undefined && !version.stages.has(versionStage)) throw new AwsFault('InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
      return version;
    }
    const stage = versionStage ?? 'AWSCURRENT';
    const version = [...secret.versions.values()].find((candidate) => candidate.stages.has(stage));
    if (!version) throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
    return version;
  }

  /** Why: LastAccessedDate is a day, not an instant, in the real service. */
  touch(secret: StoredSecret): void {
    const now = this.now();
    secret.lastAccessed = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }

  /**
   * DeleteSecret: forced, gone at once (also when already scheduled); else scheduled: DeletedDate is when the
   * deletion was asked for, and the answer's DeletionDate the end of the recovery window. Until then every
   * read of the secret answers InvalidRequestException (live()), DescribeSecret still answers with DeletedDate.
   */
  delete(secret: StoredSecret, options: { force: boolean; recoveryWindowInDays: number }): Date {
    const when = this.now();
    if (options.force) {
      this.#secrets.delete(secret.name);
      return when;
    }
    if (secret.deleted) throw new AwsFault('InvalidRequestException', "You tried to perform the operation on a secret that's currently marked deleted.");
    secret.deleted = when;
    return new Date(when.getTime() + options.recoveryWindowInDays * 86_400_000);
  }

  /** RestoreSecret: the scheduled deletion is cancelled and the secret reads again; a live secret is left as is. */
  restore(secret: StoredSecret): void {
    delete secret.deleted;
  }
}

/** DescribeSecret's and ListSecrets' `Tags`: omitted when the secret has none, as the service omits empty fields. */
export function tagList(secret: StoredSecret): { Key: string; Value: string }[] | undefined {
  return secret.tags.size === 0 ? undefined : [...secret.tags].map(([Key, Value]) => ({ Key, Value }));
}

/** The labelled versions of a secret, as DescribeSecret's VersionIdsToStages shows them. */
export function stagesMap(secret: StoredSecret): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const version of secret.versions.values()) if (version.stages.size > 0) out[version.id] = [...version.stages];
  return out;
}

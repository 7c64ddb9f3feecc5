// Reads many secrets in as few calls as the caller's IAM policy allows: BatchGetSecretValue, 20 ids per call,
// per-secret `Errors` read one by one; GetSecretValue for a single secret, for a version stage other than
// AWSCURRENT (batch has no VersionStage), and — once batch is denied — for the rest of the process.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BatchGetSecretValueCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Logger } from 'pino';
import type { StoredValue } from './content.js';
import type { Failure } from './failure.js';
import { classifyCode, classifyError } from './failure.js';

export type ReadResult = { readonly status: 'found'; readonly value: StoredValue } | Failure;

export const BATCH_LIMIT = 20;
const GET_CONCURRENCY = 10;
const MAX_PAGES = 10;

export interface ReaderOptions {
  readonly client: SecretsManagerClient;
  readonly versionStage: string;
  readonly region: () => Promise<string>;
  readonly log: Logger;
}

export class SecretReader {
  readonly #options: ReaderOptions;
  #batchDenied = false;

  constructor(options: ReaderOptions) {
    this.#options = options;
  }

  /** True once BatchGetSecretValue was denied: from then on every secret is read with GetSecretValue. */
  get batchDenied(): boolean {
    return this.#batchDenied;
  }

  /** Read every id (deduplicated); the result has one entry per id. */
  async read(ids: Iterable<string>): Promise<Map<string, ReadResult>> {
    const unique = [...new Set(ids)];
    const results = new Map<string, ReadResult>();
    if (unique.length === 0) return results;
    const batchable = unique.length > 1 && !this.#batchDenied && this.#options.versionStage === 'AWSCURRENT';
    if (!batchable) {
      await this.#getEach(unique, results);
      return results;
    }
    const chunks: string[][] = [];
    for (let start = 0; start < unique.length; start += BATCH_LIMIT) chunks.push(unique.slice(start, start + BATCH_LIMIT));
    await Promise.all(chunks.map((chunk) => this.#batch(chunk, results)));
    return results;
  }

  /** One BatchGetSecretValue call (following NextToken), falling back to GetSecretValue when batch is denied. */
  async #batch(ids: string[], results: Map<string, ReadResult>): Promise<void> {
    const region = await this.#options.region();
    this.#options.log.debug({ operation: 'BatchGetSecretValue', region, secretIds: ids }, 'reading secrets');
    let token: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await this.#options.client.send(new BatchGetSecretValueCommand({ SecretIdList: ids, ...(token === undefined ? {} : { NextToken: token }) }));
        for (const entry of answer.SecretValues ?? []) {
          const id = ids.find((candidate) => candidate === entry.Name || candidate === entry.ARN);
          if (id !== undefined) results.set(id, { status: 'found', value: { id, versionId: entry.VersionId, createdDate: entry.CreatedDate, secretString: entry.SecretString, secretBinary: entry.SecretBinary } });
        }
        for (const error of answer.Errors ?? []) {
          const id = error.SecretId;
          if (id !== undefined && ids.includes(id)) results.set(id, classifyCode(error.ErrorCode ?? 'UnknownError', error.Message ?? '', { operation: 'BatchGetSecretValue', region, secretId: id }));
        }
        token = answer.NextToken;
        if (token === undefined || ids.every((id) => results.has(id))) break;
      }
    } catch (error) {
      const failure = classifyError(error, { operation: 'BatchGetSecretValue', region });
      if (failure.code === 'AccessDeniedException') {
        this.#denyBatch(failure.status === 'error' ? failure.error.message : failure.reason);
        await this.#getEach(ids, results);
        return;
      }
      if (failure.status === 'not_found') {
        // A "not found" for the whole call names no secret (AWS reports missing ones in `Errors`; some
        // emulators fail the call): it is never pinned on all 20 ids, each one is asked on its own.
        await this.#getEach(ids, results);
        return;
      }
      for (const id of ids) results.set(id, reframe(failure, id, region));
      return;
    }
    for (const id of ids) {
      if (!results.has(id)) results.set(id, { status: 'unavailable', code: 'MissingEntry', reason: `secret "${id}" in ${region}: BatchGetSecretValue answered without an entry or an error for it` });
    }
  }

  /** Why: the fallback is decided once and logged once, however many chunks were denied at the same time. */
  #denyBatch(reason: string): void {
    if (this.#batchDenied) return;
    this.#batchDenied = true;
    this.#options.log.warn({ operation: 'BatchGetSecretValue', reason }, 'BatchGetSecretValue is denied by the IAM policy; reading each secret with GetSecretValue for the rest of this process (grant secretsmanager:BatchGetSecretValue on "*" to batch)');
  }

  /** GetSecretValue per id, a few at a time. */
  async #getEach(ids: string[], results: Map<string, ReadResult>): Promise<void> {
    const queue = [...ids];
    const worker = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) results.set(id, await this.getOne(id));
    };
    await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, ids.length) }, worker));
  }

  /** One GetSecretValue at `stage` (the configured stage unless a write needs AWSCURRENT). */
  async getOne(id: string, stage = this.#options.versionStage): Promise<ReadResult> {
    const region = await this.#options.region();
    this.#options.log.debug({ operation: 'GetSecretValue', region, secretId: id, versionStage: stage }, 'reading secret');
    try {
      const answer = await this.#options.client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }));
      return { status: 'found', value: { id, versionId: answer.VersionId, createdDate: answer.CreatedDate, secretString: answer.SecretString, secretBinary: answer.SecretBinary } };
    } catch (error) {
      return classifyError(error, { operation: 'GetSecretValue', region, secretId: id });
    }
  }
}

/** Why: a batch-wide failure is reported per secret, naming each one. */
function reframe(failure: Failure, id: string, region: string): ReadResult {
  if (failure.status === 'error') return failure;
  return { ...failure, reason: failure.reason.replace(`BatchGetSecretValue in ${region}`, `secret "${id}" in ${region} (BatchGetSecretValue)`) };
}

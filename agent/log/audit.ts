// Audit records (docs/operations.md, `log.audit`): one line per secret read in a cycle — the secret as the backend names
// it, backend, version, the keys the templates took from it, the templates, the outcome — never a value.
// One line per secret, not per key reference: a cycle that reads 2,000 secrets for 6,600 references writes
// 2,000 lines (each line is serialised, scrubbed and written synchronously; see docs/benchmarks.md).
import { splitPath } from '../backends/backend.js';
import { requestsOf } from '../cycle.js';
import type { Logger } from './logger.js';
import { requestKey } from '../store/store.js';
import type { Resolution, SecretRequest } from '../store/store.js';
import type { Template } from '../template/load.js';

export interface AuditRecord {
  event: 'read';
  /** What was read: a Vault secret path, an AWS SecretId; for file and env, the secret part of the path. */
  path: string;
  /** The keys the templates took from it; `*` for a whole-secret (map) reference. */
  keys: string[];
  backend: string | undefined;
  version: string | undefined;
  templates: string[];
  outcome: 'found' | 'not_found' | 'failed';
}

/** The audit records of one cycle: one per secret read and outcome, with the keys and templates that used it. */
export function auditRecords(templates: readonly Template[], resolutions: ReadonlyMap<string, Resolution>): AuditRecord[] {
  const bySecret = new Map<string, AuditRecord>();
  for (const template of templates) {
    for (const request of requestsOf(template)) {
      const resolution = resolutions.get(requestKey(request));
      const outcome = resolution?.status ?? 'failed';
      const backend = resolution?.status === 'found' ? resolution.backend : request.backend;
      const { secret, key } = secretOf(request, resolution);
      // A version="previous" read is a read of its own (another version): its own line.
      const id = `${outcome}|${backend ?? '*'}|${secret}${request.ref.version === undefined ? '' : `@${request.ref.version}`}`;
      let record = bySecret.get(id);
      if (record === undefined) {
        record = { event: 'read', path: secret, keys: [], backend, version: resolution?.status === 'found' ? resolution.version : undefined, templates: [], outcome };
        bySecret.set(id, record);
      }
      if (!record.keys.includes(key)) record.keys.push(key);
      if (!record.templates.includes(template.name)) record.templates.push(template.name);
    }
  }
  return [...bySecret.values()];
}

/** The secret a request read (as the backend reported it, else from the path) and the key taken from it. */
function secretOf(request: SecretRequest, resolution: Resolution | undefined): { secret: string; key: string } {
  const { kind, path } = request.ref;
  const split = kind === 'map' ? { secret: path, key: '*' } : splitPath(path);
  const read = resolution?.status === 'found' ? resolution.meta?.secret : undefined;
  return { secret: read ?? (split.secret === '' ? path : split.secret), key: split.key };
}

/** Write the records as `component: audit` lines. */
export function writeAudit(log: Logger, records: readonly AuditRecord[]): void {
  const audit = log.child({ component: 'audit' });
  for (const record of records) audit.info({ audit: true, ...record }, `secret read: ${record.path} (${record.outcome})`);
}

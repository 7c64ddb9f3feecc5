// Audit records (DESIGN §7, `log.audit`): one line per secret read in a cycle — path, backend, version,
// the templates that use it, the outcome — never the value.
import { requestsOf } from '../cycle.js';
import type { Logger } from './logger.js';
import { requestKey } from '../store/store.js';
import type { Resolution } from '../store/store.js';
import type { Template } from '../template/load.js';

export interface AuditRecord {
  path: string;
  kind: 'value' | 'map';
  backend: string | undefined;
  version: string | undefined;
  templates: string[];
  outcome: 'found' | 'not_found' | 'failed';
}

/** The audit records of one cycle, one per unique request, with the templates that asked for it. */
export function auditRecords(templates: readonly Template[], resolutions: Map<string, Resolution>): AuditRecord[] {
  const byKey = new Map<string, AuditRecord>();
  for (const template of templates) {
    for (const request of requestsOf(template)) {
      const key = requestKey(request);
      const existing = byKey.get(key);
      if (existing) {
        if (!existing.templates.includes(template.name)) existing.templates.push(template.name);
        continue;
      }
      const resolution = resolutions.get(key);
      byKey.set(key, {
        path: request.ref.path,
        kind: request.ref.kind,
        backend: resolution?.status === 'found' ? resolution.backend : request.backend,
        version: resolution?.status === 'found' ? resolution.version : undefined,
        templates: [template.name],
        outcome: resolution?.status ?? 'failed',
      });
    }
  }
  return [...byKey.values()];
}

/** Write the records as `component: audit` lines. */
export function writeAudit(log: Logger, records: readonly AuditRecord[]): void {
  const audit = log.child({ component: 'audit' });
  for (const record of records) audit.info({ audit: true, ...record }, `secret read: ${record.path} (${record.outcome})`);
}

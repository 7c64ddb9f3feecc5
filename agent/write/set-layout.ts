// The names sets use in the output directory (docs/templates.md "Sets", docs/operations.md "The output directory"),
// the Kubernetes AtomicWriter layout: `..data` is a symlink to the current generation `..<timestamp>/`, and each
// visible top-level name of a set file is a symlink `<name> -> ..data/<name>`. Names starting with `..` are the
// agent's: no destination may start with one (agent/write/destination.ts), so none can collide with these.
import { randomBytes } from 'node:crypto';
import { sep } from 'node:path';

/** The symlink readers resolve once to see one generation. */
export const DATA_LINK = '..data';

/** `..2026_12_02_07_15_00.123456789_0a1b2c3d`: the time for operators, the nanoseconds and random part for uniqueness. */
const GENERATION = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}_[0-9a-f]{8}$/;

/** Temp symlinks, made in `.secrets-agent/` and renamed into place (`..data`, visible names). */
const TEMP_LINK = /^link-[0-9a-f]{16}\.tmp$/;

/** The manifest of the current generation, in `.secrets-agent/`: set and template names, destinations; never values. */
export const MANIFEST = 'sets.json';

export function isGenerationName(name: string): boolean {
  return GENERATION.test(name);
}

export function isTempLinkName(name: string): boolean {
  return TEMP_LINK.test(name);
}

export function tempLinkName(): string {
  return `link-${randomBytes(8).toString('hex')}.tmp`;
}

/** Why: kubelet's shape (a UTC timestamp an operator can read) plus nanoseconds and 32 random bits, so two never collide. */
export function generationName(now: Date = new Date()): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const stamp = `${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}`;
  const nanos = now.getUTCMilliseconds() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n);
  return `..${stamp}.${pad(nanos, 9)}_${randomBytes(4).toString('hex')}`;
}

/** The visible name of a set file: its first path component (`tls/cert.pem` is seen through the link `tls`). */
export function topOf(rel: string): string {
  const index = rel.indexOf(sep);
  return index === -1 ? rel : rel.slice(0, index);
}

/** The target text of the agent's own visible link for a top-level name. */
export function visibleTarget(top: string): string {
  return `${DATA_LINK}/${top}`;
}

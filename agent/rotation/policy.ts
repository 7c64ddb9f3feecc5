// A secret's rotation policy, kept with the secret itself so every agent, `audit` and the library read the same one
// (docs/operations.md "Rotation"): Vault KV v2 `custom_metadata`, AWS tags, with the same keys. This module turns
// those string maps into a policy and back; the backends only move the strings.
import { invalidPathReason } from '../backends/backend.js';
import { DurationError, durationProblem, formatDuration, parseDuration } from '../config/duration.js';
import { GENERATE_MAX, GENERATE_MIN, charsets } from '../ops/generate.js';
import type { Charset } from '../ops/generate.js';

/** The metadata / tag keys of a policy. `rotation-key` names the key a generated value goes to (docs/operations.md). */
export const POLICY_KEYS = ['rotation-period', 'rotation-generate', 'rotation-charset', 'rotation-auto', 'rotation-key'] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

// Why a ceiling: a label may hold any duration up to 2^53 ms, but creation + period must stay a date (up to
// 8.64e15 ms): past it `due` is an Invalid Date, and audit, rotate and getRotationSchedule throw a RangeError.
/** The longest rotation period: 100 years. */
export const MAX_PERIOD_MS = 36_500 * 86_400_000;

export interface RotationPolicy {
  /** The period as recorded (`90d`). */
  readonly period: string;
  readonly periodMs: number;
  /** Length of a generated value; absent: the value comes from outside (an exchange's API key). */
  readonly generate?: number;
  readonly charset?: Charset;
  /** Running agents with `rotation.auto: true` may write the next value (only with `generate`). */
  readonly auto: boolean;
  /** The key of the secret a generated value replaces; absent for a plain (single-value) AWS secret. */
  readonly key?: string;
}

/** What the secret says about its rotation: a policy, none, or one that cannot be used (and why, never a value). */
export type PolicyReading = { readonly policy: RotationPolicy | undefined } | { readonly problem: string };

/** The policy a `custom_metadata` map or tag map holds: none without `rotation-period`; a problem when malformed. */
export function readPolicy(map: Readonly<Record<string, string>> | null | undefined): PolicyReading {
  const period = map?.['rotation-period'];
  if (map === null || map === undefined || period === undefined) return { policy: undefined };
  const periodProblem = durationProblem(period);
  if (periodProblem !== undefined) return { problem: `rotation-period: ${periodProblem}` };
  const periodMs = parseDuration(period);
  if (periodMs <= 0) return { problem: 'rotation-period: it must be longer than 0' };
  if (periodMs > MAX_PERIOD_MS) return { problem: `rotation-period: it must be at most ${formatDuration(MAX_PERIOD_MS)}` };
  const generateText = map['rotation-generate'];
  const generate = generateText === undefined ? undefined : Number(generateText);
  if (generate !== undefined && (!/^\d+$/.test(generateText ?? '') || generate < GENERATE_MIN || generate > GENERATE_MAX)) {
    return { problem: `rotation-generate: expected a whole number of characters from ${GENERATE_MIN} to ${GENERATE_MAX}` };
  }
  const charset = map['rotation-charset'];
  if (charset !== undefined && !Object.hasOwn(charsets, charset)) return { problem: `rotation-charset: expected one of ${Object.keys(charsets).join(', ')}` };
  const auto = map['rotation-auto'];
  if (auto !== undefined && auto !== 'true' && auto !== 'false') return { problem: 'rotation-auto: expected "true" or "false"' };
  const key = map['rotation-key'];
  // Why: the target is `<secret>/<key>`, so a "/" (or "..") would make agents write a key of another secret, one
  // whose metadata the writer of this label may have no access to.
  if (key !== undefined && key !== '' && (key.includes('/') || invalidPathReason(key) !== undefined)) {
    return { problem: 'rotation-key: expected one key of the secret (letters, digits, "_", "." and "-"; no "/")' };
  }
  return {
    policy: {
      period,
      periodMs,
      ...(generate === undefined ? {} : { generate }),
      ...(charset === undefined ? {} : { charset: charset as Charset }),
      auto: auto === 'true' && generate !== undefined,
      ...(key === undefined || key === '' ? {} : { key }),
    },
  };
}

/**
 * The map that records `policy`: every policy key, null for those the policy leaves out, so a merge (Vault
 * metadata PATCH, AWS Untag) removes what an earlier policy set and keeps every key that is not a policy key.
 */
export function policyEntries(policy: RotationPolicy): Record<PolicyKey, string | null> {
  return {
    'rotation-period': policy.period,
    'rotation-generate': policy.generate === undefined ? null : String(policy.generate),
    'rotation-charset': policy.charset ?? null,
    'rotation-auto': policy.auto ? 'true' : null,
    'rotation-key': policy.key ?? null,
  };
}

/** A policy from a command's or the library's options; the period in days or as a duration. */
export function makePolicy(options: { period: string | number; generate?: number | undefined; charset?: Charset | undefined; auto?: boolean | undefined; key?: string | undefined }): RotationPolicy {
  const periodMs = typeof options.period === 'number' ? options.period * 86_400_000 : parseDuration(options.period);
  if (periodMs > MAX_PERIOD_MS) throw new DurationError(`a rotation period must be at most ${formatDuration(MAX_PERIOD_MS)}`);
  const period = typeof options.period === 'number' ? `${options.period}d` : formatDuration(periodMs);
  return {
    period,
    periodMs,
    ...(options.generate === undefined ? {} : { generate: options.generate }),
    ...(options.charset === undefined ? {} : { charset: options.charset }),
    auto: options.auto === true,
    ...(options.key === undefined ? {} : { key: options.key }),
  };
}

/** When the current version is due for rotation: its creation plus the period. */
export function dueAt(lastChanged: Date | null, periodMs: number): Date | null {
  return lastChanged === null ? null : new Date(lastChanged.getTime() + periodMs);
}

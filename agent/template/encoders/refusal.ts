// Refusals shared by every encoder: the reasons, the checks every non-raw format makes, and the error they throw.
import { AgentError } from '../../errors.js';
import type { Format } from '../formats.js';

/** Every reason an encoder can refuse a value; carried in `AgentError.details.reason` for tests and logs. */
export const refusalReasons = [
  'nul',
  'unpaired-surrogate',
  'carriage-return',
  'interpolation',
  'dotenv-unquotable',
  'line-feed',
  'too-long',
  'outer-quotes',
  'systemd-forbidden',
] as const;
export type RefusalReason = (typeof refusalReasons)[number];

/** The usual ways out, appended to every refusal. */
export const fileOrBase64 = 'deliver the secret as its own file (FOO_FILE=/secrets/foo), or encode it with the base64 helper';

// Matches an unpaired UTF-16 surrogate only: with the `u` flag a well-formed pair is one code point, not Cs.
const loneSurrogate = /\p{Cs}/u;

/** Throws the one refusal error; `problem` names the property and consumers, `instead` the alternatives. Never the value. */
export function refuse(format: Format, reason: RefusalReason, problem: string, instead: string): never {
  // Why: a single constructor keeps every refusal message shaped "problem; what to do instead".
  throw new AgentError('ERR_ENCODE_REFUSED', `${problem}; ${instead}`, { details: { format, reason } });
}

/** True when the JS string cannot be written as UTF-8 without change (it holds a lone surrogate). */
export function hasLoneSurrogate(value: string): boolean {
  // Why: Buffer.from would silently turn a lone surrogate into U+FFFD, so a file would hold another secret.
  return loneSurrogate.test(value);
}

/** Refuses what no non-raw format can carry: NUL and text that is not valid Unicode. */
export function refuseUnwritable(format: Format, value: string): void {
  // Why: NUL cannot live in an environment or a C string, and a lone surrogate is not UTF-8; both fail alike everywhere.
  if (value.includes('\0')) {
    refuse(
      format,
      'nul',
      `the value contains a NUL character, which format ${format} refuses because no process environment can hold it and most readers cut the value there`,
      `if the secret is binary, encode it with the base64 helper, or deliver it as its own file (FOO_FILE=/secrets/foo) with format raw`,
    );
  }
  refuseLoneSurrogate(format, value);
}

/** Refuses a value with a lone surrogate, in every format (raw included): UTF-8 cannot hold it unchanged. */
export function refuseLoneSurrogate(format: Format, value: string): void {
  // Why: the file is written as UTF-8, where a lone surrogate silently becomes U+FFFD: another secret.
  if (hasLoneSurrogate(value)) {
    refuse(
      format,
      'unpaired-surrogate',
      `the value contains an unpaired UTF-16 surrogate, so it is not valid UTF-8 and format ${format} cannot write it without changing it`,
      `fix the stored secret, or store it base64-encoded and use the base64Decode helper only in a raw template`,
    );
  }
}

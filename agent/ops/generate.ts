// New secret values for `rotate --generate N`: characters drawn with the operating system's CSPRNG
// (crypto.randomInt rejects out-of-range draws, so every character of the alphabet is equally likely).
import { randomInt } from 'node:crypto';
import { AgentError } from '../errors.js';

export const charsets = {
  base62: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
} as const;

export type Charset = keyof typeof charsets;

/** Shortest and longest value `--generate` makes; under 16 characters a value is within reach of guessing. */
export const GENERATE_MIN = 16;
export const GENERATE_MAX = 4096;

/** Why: `--generate` takes text from argv; this says what is wrong with it without guessing. */
export function parseLength(text: string): number {
  const length = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(length) || length < GENERATE_MIN || length > GENERATE_MAX) {
    throw new AgentError('ERR_USAGE', `rotate: --generate expects a whole number of characters from ${GENERATE_MIN} to ${GENERATE_MAX}, got "${text}"`);
  }
  return length;
}

/** Why: one place draws secret characters, so every caller gets the CSPRNG and a uniform distribution. */
export function generateSecret(length: number, charset: Charset, draw: (max: number) => number = randomInt): string {
  const alphabet = charsets[charset];
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet.charAt(draw(alphabet.length));
  return out;
}

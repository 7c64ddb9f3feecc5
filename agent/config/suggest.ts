// "Did you mean …?" for unknown keys and enum values: the closest candidate by edit distance, offered only
// when it is close enough to be a typo.

// Why: a typo is a few inserted, deleted or changed characters, which is exactly the Levenshtein distance.
/** The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// Why: `tls_skip_verify` and `TLSSkipVerify` are the same key to a human; compare without case, `_` and `-`.
/** The spelling-insensitive form of a key: lower case, without `_` and `-`. */
export function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_]/g, '');
}

// Why: suggesting a far-off key is worse than none, so the allowed distance grows slowly with the length.
/** The candidate closest to `word`, or undefined when none is within a typo's reach. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const target = normalize(word);
  const limit = target.length <= 3 ? 1 : target.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(target, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

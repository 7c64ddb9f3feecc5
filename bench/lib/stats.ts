// Small statistics for benchmark samples: medians (never means) so one noisy run cannot move a figure.

/** The median of `values` (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** `value` with `digits` decimals, or "n/a". */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** "median (min–max, n=…)" for a table cell. */
export function spread(values: readonly number[], digits = 1, unit = ''): string {
  if (values.length === 0) return 'n/a';
  if (values.length === 1) return `${fixed(values[0] ?? Number.NaN, digits)}${unit}`;
  return `${fixed(median(values), digits)}${unit} (${fixed(min(values), digits)}–${fixed(max(values), digits)}, n=${values.length})`;
}

export const MiB = 1024 * 1024;

// The names of the backends: the one list the chain order, the config schema (`backend`, `chain`), the CLI's
// --backend choices and the provenance file are derived from (docs/design.md "The chain"). No imports, so the
// configuration can name backends without loading them.

/** Every backend, in the default chain order. */
export const BACKEND_NAMES = ['vault', 'aws', 'file', 'env'] as const;

export type BackendName = (typeof BACKEND_NAMES)[number];

/** The backends `rotate`, `migrate` and `audit` write to or read history from (agent/backends/writable.ts). */
export const WRITABLE_BACKEND_NAMES = ['vault', 'aws'] as const satisfies readonly BackendName[];

export type WritableBackendName = (typeof WRITABLE_BACKEND_NAMES)[number];

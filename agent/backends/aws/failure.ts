// How an AWS SDK error reads for the chain (DESIGN §5): not found → next backend; denied → an error, never a
// fallback; unavailable → next backend with a warning; no credentials and malformed answers → AgentErrors.
// Reasons quote only the service's own error text or a Node network code: never a response body.
import { AgentError } from '../../errors.js';
import { noCredentialsMessage } from './credentials.js';

export type Failure =
  | { readonly status: 'not_found' | 'denied' | 'unavailable'; readonly code: string; readonly reason: string }
  | { readonly status: 'error'; readonly code: string; readonly error: AgentError };

/** Where a call went, for messages that name the region and the secret. */
export interface CallSite {
  readonly operation: string;
  readonly region: string;
  readonly secretId?: string | undefined;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);
const DENIED = new Set([
  'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'IncompleteSignatureException',
  'MissingAuthenticationTokenException', 'InvalidClientTokenId', 'ExpiredTokenException', 'ExpiredToken',
  'SignatureDoesNotMatch', 'UnauthorizedOperation', 'DecryptionFailure',
]);

/** `secret "dsta/x" in us-east-1` or `us-east-1`: the subject of every message. */
export function subject(site: CallSite): string {
  return site.secretId === undefined ? `${site.operation} in ${site.region}` : `secret "${site.secretId}" in ${site.region}`;
}

/** Why: the same code means the same thing whether it came as an exception or as a batch `Errors` entry. */
export function classifyCode(code: string, message: string, site: CallSite): Failure {
  const reason = `${subject(site)}: ${code}${message === '' ? '' : `: ${message}`}`;
  if (NOT_FOUND.has(code)) return { status: 'not_found', code, reason };
  if (DENIED.has(code)) return { status: 'denied', code, reason };
  return { status: 'unavailable', code, reason };
}

/** Classify anything `client.send` threw. */
export function classifyError(error: unknown, site: CallSite): Failure {
  const err = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number; attempts?: number } };
  const name = typeof err.name === 'string' ? err.name : 'Error';
  const message = typeof err.message === 'string' ? err.message : '';
  if (name === 'CredentialsProviderError') {
    return { status: 'error', code: name, error: new AgentError('ERR_NO_CREDENTIALS', noCredentialsMessage(process.env, site, message), { details: { backend: 'aws', region: site.region, secretId: site.secretId } }) };
  }
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 200 && status < 300) {
    // A 2xx the SDK could not parse: its message quotes the body, which may hold a value, so it is never used.
    return { status: 'error', code: name, error: new AgentError('ERR_BACKEND_RESPONSE', `aws backend: ${subject(site)}: ${site.operation} answered HTTP ${status} with a body that is not the JSON Secrets Manager sends (is AWS_ENDPOINT_URL pointing at a proxy or another service?)`, { details: { backend: 'aws', region: site.region, secretId: site.secretId } }) };
  }
  const attempts = err.$metadata?.attempts;
  const tries = attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : '';
  if (err.$fault === 'client' || err.$fault === 'server') {
    const failure = classifyCode(name, message, site);
    return failure.status === 'unavailable' ? { ...failure, reason: `${failure.reason}${status === undefined ? '' : ` (HTTP ${status})`}${tries}` } : failure;
  }
  if (status !== undefined) {
    // A non-JSON error page (a proxy's 502): the SDK's message quotes it, so only the status is reported.
    return { status: 'unavailable', code: `HTTP${status}`, reason: `${subject(site)}: Secrets Manager answered HTTP ${status} with a body that is not JSON (a proxy or load balancer in between?)${tries}` };
  }
  // Network and timeout errors: Node's code and message name the host and port, never data.
  const code = typeof err.code === 'string' ? err.code : name;
  return { status: 'unavailable', code, reason: `${subject(site)}: cannot reach Secrets Manager: ${code === name ? name : `${code}: ${message}`}${tries}` };
}

/** Why: writes and audits have no chain to fall back on, so every failure becomes the AgentError it means. */
export function failureError(failure: Failure, site: CallSite): AgentError {
  if (failure.status === 'error') return failure.error;
  const details = { backend: 'aws', region: site.region, secretId: site.secretId, awsError: failure.code };
  switch (failure.status) {
    case 'denied':
      return new AgentError('ERR_SECRET_DENIED', `aws backend: permission denied: ${failure.reason}`, { details });
    case 'not_found':
      return new AgentError('ERR_SECRET_NOT_FOUND', `aws backend: not found: ${failure.reason}`, { details });
    case 'unavailable':
      return new AgentError('ERR_BACKEND_UNAVAILABLE', `aws backend unavailable: ${failure.reason}`, { details });
  }
}

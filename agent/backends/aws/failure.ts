// How an AWS answer reads for the chain: not found → next backend (and a template's default); denied → an
// error, never a fallback; unavailable → next backend with a warning (or the last good value stays); error →
// the AgentError it means. Codes are classified from Secrets Manager's own list (ERROR_CLASSES), never from
// a guess; a code not in it is unavailable. Reasons quote only the service's own error text or a Node network
// code: never a response body.
import { AgentError } from '../../errors.js';
import { noCredentialsMessage } from './credentials.js';
import type { CallSite } from './site.js';
import { subject } from './site.js';

export type Failure =
  | { readonly status: 'not_found'; readonly code: string; readonly reason: string; readonly markedForDeletion?: true }
  | { readonly status: 'denied' | 'unavailable'; readonly code: string; readonly reason: string }
  | { readonly status: 'error'; readonly code: string; readonly error: AgentError };

export type ErrorClass = 'not_found' | 'denied' | 'unavailable' | 'error';

/**
 * Every code Secrets Manager documents for the reads the agent makes — the error lists of GetSecretValue,
 * BatchGetSecretValue (also its per-secret `Errors[].ErrorCode`) and DescribeSecret — and the AWS-wide codes
 * its API reference lists as common errors (plus the awsJson spellings of the credential ones), each with the
 * one class it has and why. InvalidRequestException is the one code whose class also depends on its message:
 * see MARKED_FOR_DELETION. A code that is not here (a new one, or "Unknown" when an answer carries none) is
 * unavailable: nothing is not found unless Secrets Manager itself says so.
 */
export const ERROR_CLASSES: Readonly<Record<string, { readonly status: ErrorClass; readonly why: string }>> = {
  // The operations' own errors.
  ResourceNotFoundException: { status: 'not_found', why: 'the service itself says the secret (or a version with the asked stage) does not exist' },
  InvalidRequestException: { status: 'unavailable', why: 'the secret exists but the service will not serve it in its current state; for a read the only documented cause is a scheduled deletion (matched by its message, then not found), any other is a state the agent cannot judge: the last good value stays and the outage is reported with the service\'s message, rather than a default replacing a secret that exists' },
  InvalidParameterException: { status: 'error', why: 'the service rejects the request the agent built (the secret id from aws.prefix and the path, or the version stage): no retry and no other backend fixes that, and a default would hide it' },
  DecryptionFailure: { status: 'denied', why: 'KMS refused to decrypt the secret for this identity (no kms:Decrypt on its key, or the key is disabled): an access decision about a secret that exists' },
  InternalServiceError: { status: 'unavailable', why: 'a server-side fault, already retried by the SDK' },
  InvalidNextTokenException: { status: 'unavailable', why: 'the service refused the NextToken it issued itself (a batch page); the next cycle starts over' },
  // Common AWS errors.
  AccessDeniedException: { status: 'denied', why: 'IAM (or the secret\'s resource policy) does not allow this identity to read it' },
  NotAuthorized: { status: 'denied', why: 'this identity may not perform the operation' },
  OptInRequired: { status: 'denied', why: 'the account is not subscribed to the service (or the region is not enabled for it)' },
  UnrecognizedClientException: { status: 'denied', why: 'the service does not know the access key or session token: the identity is refused, a lower backend must not stand in for it' },
  InvalidClientTokenId: { status: 'denied', why: 'the access key id does not exist' },
  ExpiredTokenException: { status: 'denied', why: 'the session token expired: the identity is refused until the credentials are renewed' },
  InvalidSignatureException: { status: 'denied', why: 'the request signature does not match the secret access key' },
  IncompleteSignature: { status: 'denied', why: 'the request signature is not a valid SigV4 signature' },
  IncompleteSignatureException: { status: 'denied', why: 'the request signature is not a valid SigV4 signature (awsJson spelling)' },
  MissingAuthenticationTokenException: { status: 'denied', why: 'the request carried no credentials' },
  RequestExpired: { status: 'unavailable', why: 'the request\'s time stamp is more than 15 minutes off the service\'s clock: this host\'s clock, not the identity; the SDK corrects skew itself and retries' },
  ThrottlingException: { status: 'unavailable', why: 'rate exceeded, after the SDK\'s own retries' },
  LimitExceededException: { status: 'unavailable', why: 'a service quota, retried by the SDK as throttling' },
  InternalFailure: { status: 'unavailable', why: 'a server-side fault (HTTP 500)' },
  ServiceUnavailable: { status: 'unavailable', why: 'a temporary failure of the service (HTTP 503)' },
  ValidationError: { status: 'error', why: 'the request fails the service\'s input constraints: the agent built it, so it cannot succeed later' },
  ValidationException: { status: 'error', why: 'the request fails the service\'s input constraints (awsJson spelling)' },
  SerializationException: { status: 'error', why: 'the service could not read the request body: a client and endpoint that do not speak the same protocol' },
  UnknownOperationException: { status: 'error', why: 'the endpoint does not know the operation: not Secrets Manager, or a protocol the SDK does not speak' },
  InvalidAction: { status: 'error', why: 'the endpoint does not know the operation' },
};

/**
 * The only signal the wire gives for a secret scheduled for deletion (DeleteSecret with a recovery window):
 * InvalidRequestException with "You can't perform this operation on the secret because it was marked for
 * deletion." — from GetSecretValue, and as the `Errors` entry of that secret in BatchGetSecretValue. The match
 * is kept narrow: that code, and this fragment (it names *the secret*, so a KMS key pending deletion or
 * CreateSecret's "already scheduled for deletion" never match; it skips the apostrophe, which AWS has sent
 * both straight and curly). If AWS rewords it, such a secret reads as unavailable again: the last good
 * value stays and the message is reported; nothing is ever taken for deleted on a guess.
 */
const MARKED_FOR_DELETION = 'perform this operation on the secret because it was marked for deletion';

/** True for Secrets Manager's answer to a read of a secret that is marked for deletion (see MARKED_FOR_DELETION). */
export function isMarkedForDeletion(code: string, message: string): boolean {
  return code === 'InvalidRequestException' && message.includes(MARKED_FOR_DELETION);
}

/** The class of a code and its message, from ERROR_CLASSES; unavailable for a code that is not there. */
export function classOf(code: string, message: string): ErrorClass {
  if (isMarkedForDeletion(code, message)) return 'not_found';
  return Object.hasOwn(ERROR_CLASSES, code) ? (ERROR_CLASSES[code]?.status ?? 'unavailable') : 'unavailable';
}

/** Why: a batch `ErrorCode` is read as the SDK reads `__type`: cut at "," and ":", keep what follows "#". */
function sanitizeCode(raw: string): string {
  const cut = raw.split(',')[0]?.split(':')[0] ?? raw;
  return cut.slice(cut.indexOf('#') + 1).trim();
}

/** Why: the same code means the same thing whether it came as an exception or as a batch `Errors` entry. */
export function classifyCode(rawCode: string, message: string, site: CallSite): Failure {
  const code = sanitizeCode(rawCode) || 'UnknownError';
  const reason = `${subject(site)}: ${code}${message === '' ? '' : `: ${message}`}`;
  const status = classOf(code, message);
  switch (status) {
    case 'not_found':
      return isMarkedForDeletion(code, message) ? { status, code, reason, markedForDeletion: true } : { status, code, reason };
    case 'denied':
    case 'unavailable':
      return { status, code, reason };
    case 'error': {
      const why = ERROR_CLASSES[code]?.why ?? '';
      return { status, code, error: new AgentError('ERR_BACKEND_RESPONSE', `aws backend: ${reason} (${why})`, { details: { backend: 'aws', region: site.region, secretId: site.secretId, awsError: code } }) };
    }
  }
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
  if ((err.$fault === 'client' || err.$fault === 'server') && name === 'Unknown') {
    // The SDK's name for a JSON error that carries no code: not an answer of Secrets Manager (a proxy's JSON
    // 404, an API gateway), so its text is not quoted and it is never taken for "not found".
    return { status: 'unavailable', code: `HTTP${status ?? ''}`, reason: `${subject(site)}: Secrets Manager answered HTTP ${status ?? '?'} with an error that names no AWS error code (a proxy or load balancer in between?)${tries}` };
  }
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

import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

/**
 * One error family for the whole code base. Domain code throws StdchkError;
 * the edges map it once: to a gRPC status (services), to an errno (FUSE),
 * to one line and an exit code (CLI).
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'NOT_EMPTY'
  | 'INVALID_ARGUMENT'
  | 'NAME_TOO_LONG'
  | 'TOO_MANY_LINKS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'NO_SPACE'
  | 'UNAVAILABLE'
  | 'CONFLICT'
  | 'CORRUPT'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'INTERNAL';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'TIMEOUT', 'CONFLICT']);

export class StdchkError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StdchkError';
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE.has(code);
  }
}

export const notFound = (what: string) => new StdchkError('NOT_FOUND', `${what}: no such file or directory`);
export const invalid = (message: string) => new StdchkError('INVALID_ARGUMENT', message);

export function isStdchkError(e: unknown, code?: ErrorCode): e is StdchkError {
  return e instanceof StdchkError && (code === undefined || e.code === code);
}

const TO_GRPC: Record<ErrorCode, GrpcStatus> = {
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  NOT_A_DIRECTORY: GrpcStatus.FAILED_PRECONDITION,
  IS_A_DIRECTORY: GrpcStatus.FAILED_PRECONDITION,
  NOT_EMPTY: GrpcStatus.FAILED_PRECONDITION,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NAME_TOO_LONG: GrpcStatus.INVALID_ARGUMENT,
  TOO_MANY_LINKS: GrpcStatus.FAILED_PRECONDITION,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  NO_SPACE: GrpcStatus.RESOURCE_EXHAUSTED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  CONFLICT: GrpcStatus.ABORTED,
  CORRUPT: GrpcStatus.DATA_LOSS,
  TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  INTERNAL: GrpcStatus.INTERNAL,
};

const FROM_GRPC: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'NO_SPACE',
  [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
  [GrpcStatus.ABORTED]: 'CONFLICT',
  [GrpcStatus.DATA_LOSS]: 'CORRUPT',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'TIMEOUT',
  [GrpcStatus.CANCELLED]: 'UNAVAILABLE',
};

/** errno values (Linux) as fuse-native expects them: negative numbers. */
const TO_ERRNO: Record<ErrorCode, number> = {
  NOT_FOUND: -2, // ENOENT
  ALREADY_EXISTS: -17, // EEXIST
  NOT_A_DIRECTORY: -20, // ENOTDIR
  IS_A_DIRECTORY: -21, // EISDIR
  NOT_EMPTY: -39, // ENOTEMPTY
  INVALID_ARGUMENT: -22, // EINVAL
  NAME_TOO_LONG: -36, // ENAMETOOLONG
  TOO_MANY_LINKS: -31, // EMLINK
  PERMISSION_DENIED: -13, // EACCES
  UNAUTHENTICATED: -1, // EPERM
  NO_SPACE: -28, // ENOSPC
  UNAVAILABLE: -5, // EIO
  CONFLICT: -5,
  CORRUPT: -5,
  TIMEOUT: -5,
  TOO_LARGE: -27, // EFBIG
  INTERNAL: -5,
};

const ERROR_CODE_KEY = 'x-stdchk-error-code';
/**
 * Longest status message sent. Messages quote what the caller sent, and a
 * grpc-message trailer over the peer's header limit (~64 KiB) is not an
 * error the caller can read: its call just hangs (seen with a 92 KB job id).
 */
export const MAX_DETAILS_CHARS = 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The string with every lone UTF-16 surrogate replaced by U+FFFD. A status
 * message must be well-formed: grpc-js sends it through encodeURI, which
 * throws on a lone surrogate, and that exception escapes grpc-js and ends
 * the server process (seen: a job file whose unknown key was "\ud800"
 * crashed the scheduler). Messages quote what callers sent, and cutting a
 * message can split a surrogate pair.
 */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** The error as a gRPC ServiceError, with our code in trailers so clients recover it exactly. */
export function toServiceError(e: unknown): Partial<ServiceError> {
  const err = e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e), { cause: e });
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, err.code);
  const details = wellFormed(
    err.message.length > MAX_DETAILS_CHARS
      ? `${err.message.slice(0, MAX_DETAILS_CHARS - 12)}... (cut)`
      : err.message,
  );
  return { code: TO_GRPC[err.code], details, metadata };
}

/** A gRPC client-side error (or anything thrown) as a StdchkError. */
export function fromServiceError(e: unknown, context?: string): StdchkError {
  if (e instanceof StdchkError) return e;
  const se = e as Partial<ServiceError> | undefined;
  if (se && typeof se.code === 'number') {
    const carried = se.metadata?.get(ERROR_CODE_KEY)?.[0];
    const code: ErrorCode =
      typeof carried === 'string' && carried in TO_GRPC
        ? (carried as ErrorCode)
        : (FROM_GRPC[se.code] ?? 'INTERNAL');
    const detail = se.details || se.message || 'request failed';
    const tls = code === 'UNAVAILABLE' ? tlsFailure(detail) : undefined;
    if (tls) return new StdchkError('UNAUTHENTICATED', context ? `${context}: ${tls}` : tls, { cause: e });
    const down = code === 'UNAVAILABLE' ? connectionFailure(detail) : undefined;
    const text = down ? `cannot connect: ${down}` : detail;
    return new StdchkError(code, context ? `${context}: ${text}` : text, { cause: e });
  }
  return new StdchkError('INTERNAL', context ? `${context}: ${errorMessage(e)}` : errorMessage(e), {
    cause: e,
  });
}

/**
 * grpc-js's "No connection established. Last error: Error: connect
 * ECONNREFUSED 127.0.0.1:1. Resolution note: ..." as "connect ECONNREFUSED
 * 127.0.0.1:1"; undefined when the call failed for another reason.
 */
export function connectionFailure(detail: string): string | undefined {
  if (
    !/No connection established|cannot connect: |Failed to connect|connect E[A-Z]+|getaddrinfo/i.test(detail)
  )
    return undefined;
  if (detail.startsWith('cannot connect: ')) return detail.slice('cannot connect: '.length);
  const last =
    /Last error: (?:Error(?: \[\w+\])?: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\.? Resolution note:/.exec(
      detail,
    );
  return (last?.[1] ?? detail).replace(/\.$/, '').trim() || 'no connection';
}

/** OpenSSL's "80FC...:error:0A00045C:SSL routines:fn:reason:file:line:..." as just "reason". */
export function cleanTlsReason(message: string): string {
  const m = /error:[0-9A-F]+:SSL routines:[^:]*:([^:]+)/.exec(message);
  return (m?.[1] ?? message).trim();
}

/**
 * A failed connection whose cause is TLS, as one clear line (not retried:
 * credentials do not fix themselves). grpc-js reports these as UNAVAILABLE
 * "No connection established. Last error: <Node/OpenSSL error> ...".
 */
export function tlsFailure(detail: string): string | undefined {
  const last =
    /Last error: (?:Error(?: \[\w+\])?: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\.? Resolution note:/.exec(
      detail,
    );
  const raw = (last ? last[1] : detail) ?? detail;
  const reason = cleanTlsReason(raw).replace(/\.$/, '');
  const hints: [RegExp, string][] = [
    [
      /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer/i,
      "the server's certificate is not signed by the CA in --tls-ca (a node of another cluster?)",
    ],
    [
      /altnames/i,
      "the server's certificate has no SAN for the address dialled (remake it with stdchk certs node --san)",
    ],
    [/certificate has expired|certificate is not yet valid/i, "the server's certificate is not valid now"],
    [
      /alert certificate required/i,
      'the server requires a client certificate: pass --tls-ca, --tls-cert and --tls-key',
    ],
    [
      /alert (unknown ca|bad certificate|certificate expired|certificate unknown|decrypt error)/i,
      "the server refused this node's certificate",
    ],
    [
      /wrong version number|packet length too long|http request/i,
      'the server does not speak TLS (is it running without --tls-*?)',
    ],
  ];
  for (const [re, hint] of hints) {
    if (re.test(reason)) return `TLS handshake failed: ${hint} (${reason})`;
  }
  return undefined;
}

export function toErrno(e: unknown): number {
  return e instanceof StdchkError ? TO_ERRNO[e.code] : -5;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

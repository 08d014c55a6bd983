// Types of the package entry: the generated declarations of the native module
// (../index.d.ts, written by `napi build`), the error classes of lib/errors.js and the
// async iterator lib/index.js adds to RunHandle. `make test-node` checks that these
// declarations name exactly what the module exports and type-checks a usage file.

export * from '../index'

import type { Progress, QuotaDenial } from '../index'

declare module '../index' {
  interface RunHandle {
    /** Progress of the run until it ends: `for await (const p of handle) { ... }`. */
    [Symbol.asyncIterator](): AsyncGenerator<Progress, void, undefined>
  }
}

/** The core's error kinds: the possible values of `EchoError.code`. */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'permission_denied'
  | 'unauthenticated'
  | 'conflict'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'provider'
  | 'storage'
  | 'cancelled'
  | 'config'
  | 'internal'
  | 'consent_required'

/** Base class of every error Echo reports. */
export declare class EchoError extends Error {
  constructor(message: string, info?: { code?: string })
  /** The core's error kind (stable; branch on it or on the class). */
  readonly code: ErrorCode
  static readonly code: ErrorCode
}
/** The caller passed something invalid; nothing was written or spent. */
export declare class InvalidInputError extends EchoError {
  /** The offending field, e.g. `spec.prompts[2]`. */
  readonly field: string | null
}
/** The object does not exist, or belongs to another account. */
export declare class NotFoundError extends EchoError {}
/** The principal lacks a scope, or its account may not act at all (`accountStatus`). */
export declare class PermissionDeniedError extends EchoError {
  /** Set when the account is refused as a whole: erasure pending, or blocked by the operator. */
  readonly accountStatus: 'deletion_pending' | 'blocked' | null
  /** With `accountStatus: 'deletion_pending'`: when the erasure runs (ISO 8601). */
  readonly deadline: string | null
}
/** An API key did not authenticate. Send the message; log `reason`, never show it. */
export declare class UnauthenticatedError extends EchoError {
  readonly reason: 'malformed' | 'bad_checksum' | 'unknown' | 'revoked' | 'expired' | null
}
/** The operation conflicts with the current state. */
export declare class ConflictError extends EchoError {}
/** A quota would be exceeded. */
export declare class QuotaExceededError extends EchoError {
  readonly quota: QuotaDenial | null
}
/** A rate limit refused the call. */
export declare class RateLimitedError extends EchoError {
  /** Seconds until a retry will be admitted. */
  readonly retryAfter: number | null
}
/** A language-model provider failed. */
export declare class ProviderError extends EchoError {
  readonly provider: string | null
}
/** The database failed. */
export declare class StorageError extends EchoError {}
/** The operation was cancelled. */
export declare class CancelledError extends EchoError {}
/** A problem in the host's setup of Echo. */
export declare class ConfigError extends EchoError {}
/** A bug in Echo. */
export declare class InternalError extends EchoError {}
/**
 * The deployment requires consent for `purpose` (`requireConsent`) and the account has not
 * given it or withdrew it; nothing was started. Record it with `echo.recordConsent`.
 */
export declare class ConsentRequiredError extends EchoError {
  readonly purpose: string | null
  /** True when the account withdrew the consent, false when it never gave it. */
  readonly withdrawn: boolean | null
}

/** The class used for an error code (`EchoError` for a code this version does not know). */
export declare function errorClassForCode(code: string): typeof EchoError

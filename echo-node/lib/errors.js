'use strict'
// The error classes of echo-ai.
//
// Every error Echo reports is an instance of one of these classes, chosen by the core's
// stable error kind, which is also the error's `code`: catch `EchoError` for all of them,
// or test a subclass (`err instanceof RateLimitedError`) or the code
// (`err.code === 'rate_limited'`). The native module builds them through `fromInfo`
// (registered by lib/index.js), on the JavaScript thread, so a rejected Promise carries
// the instance itself.

/** Base class of every error Echo reports. */
class EchoError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: string }} [info]
   */
  constructor(message, info = {}) {
    super(message)
    this.name = new.target.name
    /** The core's error kind: 'invalid_input', 'not_found', ... */
    this.code = info.code ?? new.target.code
  }
}
EchoError.code = 'internal'

/** The caller passed something invalid; nothing was written or spent. `field` names it. */
class InvalidInputError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    /** The offending field, e.g. 'spec.prompts[2]'. */
    this.field = info.field ?? null
  }
}
InvalidInputError.code = 'invalid_input'

/** The object does not exist, or belongs to another account. */
class NotFoundError extends EchoError {}
NotFoundError.code = 'not_found'

/**
 * The principal may not do this: it lacks a scope, or its account may not act at all
 * (`accountStatus` 'deletion_pending' — with the erasure `deadline` — or 'blocked').
 */
class PermissionDeniedError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    /** 'deletion_pending' or 'blocked' when the account is refused as a whole, else null. */
    this.accountStatus = info.accountStatus ?? null
    /** When a pending deletion erases the account (ISO 8601), else null. */
    this.deadline = info.deadline ?? null
  }
}
PermissionDeniedError.code = 'permission_denied'

/**
 * An API key did not authenticate. The message is the same for unknown, revoked and
 * expired keys (send it to the caller); `reason` tells the host which, for its logs:
 * 'malformed', 'bad_checksum', 'unknown', 'revoked' or 'expired'. Never show `reason`.
 */
class UnauthenticatedError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    this.reason = info.reason ?? null
  }
}
UnauthenticatedError.code = 'unauthenticated'

/** The operation conflicts with the current state (e.g. deleting a running experiment). */
class ConflictError extends EchoError {}
ConflictError.code = 'conflict'

/** A quota would be exceeded; `quota` says which limit, what was asked and what is left. */
class QuotaExceededError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    this.quota = info.quota ?? null
  }
}
QuotaExceededError.code = 'quota_exceeded'

/** A rate limit refused the call; retry after `retryAfter` seconds. */
class RateLimitedError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    /** Seconds until a retry will be admitted. */
    this.retryAfter = info.retryAfter ?? null
  }
}
RateLimitedError.code = 'rate_limited'

/** A language-model provider failed; `provider` is its id. */
class ProviderError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    this.provider = info.provider ?? null
  }
}
ProviderError.code = 'provider'

/** The database failed. */
class StorageError extends EchoError {}
StorageError.code = 'storage'

/** The operation was cancelled. */
class CancelledError extends EchoError {}
CancelledError.code = 'cancelled'

/** A problem in the host's setup of Echo (a missing provider, an unknown tier...). */
class ConfigError extends EchoError {}
ConfigError.code = 'config'

/**
 * The deployment requires consent for `purpose` before runs start (the `requireConsent`
 * option) and the account has not given it (`withdrawn` false) or withdrew it (true).
 * Nothing was started, reserved or written: record the consent with `echo.recordConsent`
 * and start the run again.
 */
class ConsentRequiredError extends EchoError {
  constructor(message, info = {}) {
    super(message, info)
    this.purpose = info.purpose ?? null
    this.withdrawn = info.withdrawn ?? null
  }
}
ConsentRequiredError.code = 'consent_required'

/** A bug in Echo; please report it with the message. */
class InternalError extends EchoError {}
InternalError.code = 'internal'

const classes = {
  EchoError,
  InvalidInputError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  ConflictError,
  QuotaExceededError,
  RateLimitedError,
  ProviderError,
  StorageError,
  CancelledError,
  ConfigError,
  InternalError,
  ConsentRequiredError,
}

const byCode = new Map(
  Object.values(classes)
    .filter((cls) => cls !== EchoError)
    .map((cls) => [cls.code, cls]),
)

/**
 * The error for what the native module reports; `EchoError` (with the real `code`) for a
 * kind this version has no class for.
 */
function fromInfo(info) {
  const Cls = byCode.get(info.code) ?? EchoError
  return new Cls(info.message, info)
}

module.exports = { ...classes, errorClassForCode: (code) => byCode.get(code) ?? EchoError, fromInfo }

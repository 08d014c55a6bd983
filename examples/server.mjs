// An HTTP API over Echo with node:http: API-key authentication, per-key rate limits,
// security headers, runs and reports as JSON.
//
//   node examples/server.mjs            # http://127.0.0.1:8787, in-memory DB, simulated provider
//   ECHO_DATABASE_URL=sqlite:///tmp/echo.db PORT=8080 node examples/server.mjs
//
// Routes (all need `Authorization: Bearer <API key>`):
//   GET  /v1/account                       the caller's account and quota
//   POST /v1/experiments                   create an experiment (JSON spec)
//   POST /v1/experiments/:id/runs          start a run, executed in this process (202)
//   GET  /v1/runs/:id                      a run (status, counts)
//   GET  /v1/runs/:id/report               a run's report
//
// Every request first authenticates the key (401 otherwise, with the same message for
// unknown, revoked and expired keys), then takes one request from the key's rate limit
// (429 with Retry-After and the RateLimit-* headers when refused; the headers are sent on
// every response). Another account's objects answer 404, exactly like missing ones. The
// caller's address, user agent and request id (X-Request-Id, echoed back) go with the
// principal into Echo's audit trail.
// `createServer` is exported so tests (and your app) can mount it on their own engine.

import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'

// In your application: `from 'echo-ai'`.
import { Echo, EchoError, Principal } from '../echo-node/index.mjs'

/** Headers every response carries: a JSON API that must never be cached, framed or sniffed. */
export const SECURITY_HEADERS = Object.freeze({
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
})

/** The largest request body accepted (an experiment spec is a few kilobytes). */
const MAX_BODY_BYTES = 256 * 1024

/** HTTP status of each Echo error code; anything else is a 500 with a generic message. */
const STATUS_BY_CODE = {
  invalid_input: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  quota_exceeded: 429,
  rate_limited: 429,
  // The deployment requires a consent the account has not given: the user must act (in
  // the host's UI), retrying will not help.
  consent_required: 403,
}

class HttpError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

function send(res, status, body, headers = {}) {
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  })
  res.end(payload)
}

async function readJson(req) {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json')
  }
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON')
  }
}

/**
 * The request as Echo's audit trail records it. Behind a proxy, take the client address
 * from the header your proxy sets (and only from a proxy you trust), not the socket.
 */
function requestContext(req, requestId) {
  return {
    ip: req.socket.remoteAddress,
    userAgent: req.headers['user-agent'],
    requestId,
  }
}

/** The caller's request id when it is a sane token, else a new one. */
function requestIdOf(req) {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
}

/** The key of `Authorization: Bearer <key>`, or a 401. */
function bearerKey(req) {
  const match = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '')
  if (!match) throw new HttpError(401, 'unauthenticated', 'send your API key as Authorization: Bearer <key>')
  return match[1]
}

/**
 * An http.Server serving the API over `echo`.
 *
 * @param {object} options
 * @param {Echo} options.echo
 * @param {{ name: string, limit: number, windowSecs?: number }} [options.rateLimit]
 *   requests per window per API key (default 120 per minute)
 * @param {(event: object) => void} [options.log] structured log sink (never gets keys)
 */
export function createServer({ echo, rateLimit = { name: 'api.requests', limit: 120, windowSecs: 60 }, log = () => {} }) {
  const handlers = [
    ['GET', /^\/v1\/account$/, async (p) => ({ account: await echo.getAccount(p), quota: await echo.quotaStatus(p) })],
    ['POST', /^\/v1\/experiments$/, async (p, _m, req) => [201, await echo.createExperiment(p, await readJson(req))]],
    [
      'POST',
      /^\/v1\/experiments\/([^/]+)\/runs$/,
      async (p, [id], req) => {
        const options = Number(req.headers['content-length'] ?? 0) > 0 ? await readJson(req) : {}
        const handle = await echo.startRun(p, id, options)
        // The run executes in this process; clients poll /v1/runs/:id. A failure is in the
        // run's status and the log, not lost.
        handle.wait().catch((err) => log({ event: 'run_failed', runId: handle.runId, code: err.code }))
        return [202, { runId: handle.runId, status: handle.progress().status }]
      },
    ],
    ['GET', /^\/v1\/runs\/([^/]+)$/, (p, [id]) => echo.getRun(p, id)],
    ['GET', /^\/v1\/runs\/([^/]+)\/report$/, (p, [id]) => echo.report(p, id)],
  ]

  return http.createServer(async (req, res) => {
    const started = performance.now()
    const requestId = requestIdOf(req)
    res.setHeader('X-Request-Id', requestId)
    let rateHeaders = {}
    let status = 500
    try {
      const url = new URL(req.url, 'http://localhost')
      const route = handlers.find(([method, pattern]) => pattern.test(url.pathname) && method === req.method)
      if (!route) {
        const known = handlers.some(([, pattern]) => pattern.test(url.pathname))
        throw known
          ? new HttpError(405, 'method_not_allowed', `${req.method} is not allowed here`)
          : new HttpError(404, 'not_found', 'no such route')
      }
      const principal = (await echo.authenticate(bearerKey(req))).withRequest(requestContext(req, requestId))
      const decision = await echo.checkRateLimit(principal, rateLimit)
      rateHeaders = decision.headers
      if (!decision.allowed) {
        throw new HttpError(429, 'rate_limited', `too many requests; retry after ${decision.headers['Retry-After']} s`)
      }
      const [, pattern, handler] = route
      const params = pattern.exec(url.pathname).slice(1).map(decodeURIComponent)
      const result = await handler(principal, params, req)
      const [code, body] = Array.isArray(result) ? result : [200, result]
      status = code
      send(res, code, body, rateHeaders)
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status
        const extra = status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}
        send(res, status, { error: { code: err.code, message: err.message } }, { ...rateHeaders, ...extra })
      } else if (err instanceof EchoError && STATUS_BY_CODE[err.code]) {
        status = STATUS_BY_CODE[err.code]
        const extra = {}
        if (status === 401) extra['WWW-Authenticate'] = 'Bearer'
        if (err.code === 'rate_limited' && err.retryAfter != null) extra['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfter)))
        const body = { error: { code: err.code, message: err.message } }
        if (err.field) body.error.field = err.field
        if (err.quota) body.error.quota = err.quota
        if (err.purpose) body.error.purpose = err.purpose
        send(res, status, body, { ...rateHeaders, ...extra })
      } else {
        status = 500
        log({ event: 'internal_error', code: err?.code, message: String(err?.message ?? err) })
        send(res, 500, { error: { code: 'internal', message: 'internal error' } }, rateHeaders)
      }
    } finally {
      log({ event: 'request', requestId, method: req.method, path: req.url?.split('?')[0], status, ms: performance.now() - started })
    }
  })
}

async function main() {
  const echo = await Echo.open({
    database: process.env.ECHO_DATABASE_URL ?? ':memory:',
    simulated: { seed: 42 },
    providersFromEnv: process.env.ECHO_PROVIDERS_FROM_ENV === '1',
  })
  // A demo tenant so the server is usable at once. A real host creates accounts in its
  // sign-up flow and hands keys to users through its own UI.
  const account = await echo.createAccount(Principal.admin(), { name: 'Demo', tier: 'pro' })
  const key = await echo.createApiKey(Principal.host(account.id), {
    name: 'demo',
    scopes: ['experiments:read', 'experiments:write', 'runs:write'],
  })
  const server = createServer({ echo, log: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) })
  const port = Number(process.env.PORT ?? 8787)
  server.listen(port, '127.0.0.1', () => {
    // The demo key is shown once on the terminal, as a sign-up page would show it.
    process.stdout.write(`Echo API on http://127.0.0.1:${port}\nDemo API key (shown once): ${key.secret}\n`)
  })
  const stop = () => server.close(() => echo.close().then(() => process.exit(0)))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`)
    process.exit(1)
  })
}

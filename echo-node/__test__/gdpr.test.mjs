// Data-subject rights through the Node API: export (in memory and to a file), deletion
// request, cancellation and erasure after the grace period (with a manual clock).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import {
  ConflictError,
  ManualClock,
  NotFoundError,
  PermissionDeniedError,
  Principal,
  UnauthenticatedError,
} from 'echo-ai'

import { newAccount, openEngine, rejectsWith, spec } from './helpers.mjs'

const DAY = 24 * 3600

/** An account with an experiment, a finished run and an API key. */
async function populated(echo, name) {
  const { account, principal } = await newAccount(echo, name)
  const experiment = await echo.createExperiment(principal, spec({ repeats: 2, name: `${name} study` }))
  const handle = await echo.startRun(principal, experiment.id)
  await handle.wait()
  const key = await echo.createApiKey(principal, { name: `${name} key`, scopes: ['experiments:read'] })
  return { account, principal, experiment, runId: handle.runId, key }
}

test("an export holds the account's data and nothing of another account", async () => {
  const echo = await openEngine()
  try {
    const alice = await populated(echo, 'Alice')
    const bob = await populated(echo, 'Bob')

    const { bundle, summary } = await echo.exportAccount(alice.principal)
    assert.equal(typeof bundle, 'string')
    assert.equal(summary.bytes, Buffer.byteLength(bundle))
    assert.equal(summary.accountId, alice.account.id)
    const text = bundle
    const data = JSON.parse(text)
    assert.equal(data.format, 'echo-account-export')
    assert.equal(data.version, 1)
    assert.equal(data.complete, true)
    assert.equal(data.account.id, alice.account.id)
    assert.deepEqual(
      data.experiments.map((e) => e.id),
      [alice.experiment.id],
    )
    assert.deepEqual(
      data.runs.map((r) => r.id),
      [alice.runId],
    )
    assert.equal(data.samples.length, 4)
    assert.ok(data.samples.every((s) => s.run_id === alice.runId))
    assert.deepEqual(
      data.api_keys.map((k) => k.id),
      [alice.key.key.id],
    )
    assert.ok(!text.includes(alice.key.secret), 'never the key itself')
    for (const foreign of [bob.account.id, bob.experiment.id, bob.runId, bob.key.key.id, 'Bob study']) {
      assert.ok(!text.includes(foreign), `the bundle mentions ${foreign} of another account`)
    }
    assert.deepEqual(summary.counts, data.counts)
    assert.equal(summary.counts.samples, 4)

    // The same bundle into a file, renamed into place once complete.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echo-export-'))
    try {
      const file = path.join(dir, 'alice.json')
      const written = await echo.exportAccountToFile(alice.principal, file)
      assert.equal(written.bytes, fs.statSync(file).size)
      assert.deepEqual(fs.readdirSync(dir), ['alice.json'], 'no partial file left behind')
      const fromFile = JSON.parse(fs.readFileSync(file, 'utf8'))
      assert.deepEqual(fromFile.samples, data.samples)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }

    // A leaked key must not download the account.
    const caller = await echo.authenticate(alice.key.secret)
    await rejectsWith(echo.exportAccount(caller), PermissionDeniedError)
  } finally {
    await echo.close()
  }
})

test('a deletion request blocks the account and its keys; cancel restores; erasure after the deadline', async () => {
  const clock = new ManualClock()
  const echo = await openEngine({ clock, deletionGraceSecs: DAY })
  try {
    const { account, principal, key, runId } = await populated(echo, 'Leaving')
    const other = await populated(echo, 'Staying')
    const operator = Principal.admin().actingFor(account.id)

    const request = await echo.requestDeletion(principal)
    assert.equal(request.accountId, account.id)
    assert.equal(request.keysRevoked, 1)
    assert.equal(Date.parse(request.deadline) - Date.parse(request.requestedAt), DAY * 1000)

    // Every operation of the account is refused, with the deadline; its key no longer works.
    await rejectsWith(echo.getAccount(principal), PermissionDeniedError, {
      accountStatus: 'deletion_pending',
      deadline: request.deadline,
      message: /echo\.cancelDeletion/,
    })
    await rejectsWith(echo.report(principal, runId), PermissionDeniedError, { accountStatus: 'deletion_pending' })
    await rejectsWith(echo.authenticate(key.secret), UnauthenticatedError, { reason: 'revoked' })
    await rejectsWith(echo.requestDeletion(principal), ConflictError)
    const pending = await echo.deletionRequests(principal)
    assert.deepEqual(
      pending.map((r) => [r.id, r.status, r.erasure]),
      [[request.id, 'pending', undefined]],
    )

    // Only the operator cancels; the account is back, its old keys stay revoked.
    await rejectsWith(echo.cancelDeletion(principal), PermissionDeniedError)
    const cancelled = await echo.cancelDeletion(operator)
    assert.equal(cancelled.status, 'cancelled')
    assert.equal(cancelled.cancelledBy, 'admin')
    assert.deepEqual(await echo.getAccount(principal), account)
    await rejectsWith(echo.authenticate(key.secret), UnauthenticatedError, { reason: 'revoked' })
    const fresh = await echo.createApiKey(principal, { name: 'new', scopes: ['experiments:read'] })
    assert.equal((await echo.authenticate(fresh.secret)).accountId, account.id)

    // Requested again: nothing is erased before the deadline, everything after it.
    await echo.requestDeletion(principal)
    await rejectsWith(echo.authenticate(fresh.secret), UnauthenticatedError, { reason: 'revoked' })
    assert.deepEqual((await echo.eraseDueAccounts()).completed, [])
    clock.advance(DAY + 1)
    await rejectsWith(echo.cancelDeletion(operator), ConflictError)
    const pass = await echo.eraseDueAccounts()
    assert.equal(pass.more, false)
    assert.deepEqual(
      pass.completed.map((r) => r.accountId),
      [account.id],
    )
    const erased = pass.completed[0]
    assert.ok(erased.rowsDeleted.samples >= 4, JSON.stringify(erased.rowsDeleted))
    assert.ok(Object.values(erased.remaining).every((n) => n === 0), JSON.stringify(erased.remaining))

    await rejectsWith(echo.getAccount(principal), NotFoundError)
    await rejectsWith(echo.report(operator, runId), NotFoundError)
    const history = await echo.deletionRequests(principal)
    assert.deepEqual(
      history.map((r) => r.status),
      ['completed', 'cancelled'],
    )
    assert.deepEqual(history[0].erasure, erased, 'the completed request is the record of the erasure')
    assert.equal(history[1].erasure, undefined)

    // The other account is untouched.
    assert.equal((await echo.getAccount(other.principal)).id, other.account.id)
    assert.equal((await echo.report(other.principal, other.runId)).counts.succeeded, 4)
    assert.throws(() => echo.eraseDueAccounts(0), (err) => err.field === 'maxBatches')
  } finally {
    await echo.close()
  }
})

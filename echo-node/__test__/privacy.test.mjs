// Privacy through the Node API: retention (with a manual clock, no sleeping), the consent
// gate on runs, per-account redaction settings.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  ConsentRequiredError,
  DATA_PROCESSING,
  InvalidInputError,
  ManualClock,
  PermissionDeniedError,
  Principal,
} from 'echo-ai'

import { newAccount, openEngine, rejectsWith, spec } from './helpers.mjs'

const DAY = 24 * 3600

/** A report without the time it was generated at (which changes on every read). */
const stable = (report) => ({ ...report, generatedAt: null })

test('the retention policy is configurable and checked when the engine opens', async () => {
  const echo = await openEngine({ retentionPolicy: { rawAnswerTtlSecs: 7 * DAY }, deletionGraceSecs: 2 * DAY })
  try {
    assert.deepEqual(echo.retentionPolicy(), {
      rawAnswerTtlSecs: 7 * DAY,
      auditTtlSecs: 730 * DAY,
      deletionGraceSecs: 2 * DAY,
      batchSize: 500,
      maxBatches: 200,
    })
  } finally {
    await echo.close()
  }
  await rejectsWith(
    Promise.resolve().then(() => openEngine({ retentionPolicy: { rawAnswerTtlSecs: 3600 } })),
    InvalidInputError,
    { field: 'retention.raw_answer_ttl', message: /at least one day/ },
  )
  assert.throws(
    () => openEngine({ retentionPolicy: { deletionGraceSecs: 2 * DAY }, deletionGraceSecs: 3 * DAY }),
    (err) => err instanceof InvalidInputError && err.field === 'deletionGraceSecs',
  )
  assert.throws(() => openEngine({ clock: { now: () => 0 } }), (err) => err instanceof InvalidInputError && err.field === 'clock')
})

test('retention anonymizes raw answers once their TTL passes, and reports still compute', async () => {
  const clock = new ManualClock()
  const echo = await openEngine({ clock, retentionPolicy: { rawAnswerTtlSecs: DAY } })
  try {
    const { principal } = await newAccount(echo)
    const experiment = await echo.createExperiment(principal, spec({ repeats: 3 }))
    const handle = await echo.startRun(principal, experiment.id, { seed: 4 })
    const report = await handle.wait()
    assert.equal(report.counts.succeeded, 6)
    const admin = Principal.admin()

    const early = await echo.applyRetention(admin)
    assert.equal(early.now, clock.now(), 'applied at the engine clock by default')
    assert.equal(echo.now(), clock.now())
    assert.equal(early.samplesAnonymized, 0, 'nothing is due before the TTL')
    const before = JSON.parse((await echo.exportAccount(principal)).bundle)
    assert.ok(before.samples.every((s) => typeof s.raw_answer === 'string' && s.anonymized_at === null))

    clock.advance(DAY + 60)
    const pass = await echo.applyRetention(admin)
    assert.equal(pass.samplesAnonymized, 6)
    assert.equal(pass.complete, true)
    assert.equal(Date.parse(pass.rawAnswerCutoff), Date.parse(clock.now()) - DAY * 1000)
    assert.equal((await echo.applyRetention(admin)).samplesAnonymized, 0, 'idempotent')

    // The answer text is gone, the facts reports are computed from are not.
    const after = JSON.parse((await echo.exportAccount(principal)).bundle)
    assert.equal(after.samples.length, 6)
    assert.ok(after.samples.every((s) => s.raw_answer === null && s.anonymized_at !== null))
    assert.deepEqual(
      after.samples.map((s) => s.mentions),
      before.samples.map((s) => s.mentions),
    )
    assert.deepEqual(stable(await echo.report(principal, handle.runId)), stable(report))

    await rejectsWith(echo.applyRetention(principal), PermissionDeniedError)
    assert.throws(() => echo.applyRetention(admin, 'last week'), (err) => err.field === 'now')
  } finally {
    await echo.close()
  }
})

test('a required consent gates runs until it is recorded, and again once withdrawn', async () => {
  const echo = await openEngine({ requireConsent: DATA_PROCESSING })
  try {
    assert.equal(DATA_PROCESSING, 'data_processing')
    const { principal } = await newAccount(echo)
    const experiment = await echo.createExperiment(principal, spec({ repeats: 2 }))

    await rejectsWith(echo.startRun(principal, experiment.id), ConsentRequiredError, {
      code: 'consent_required',
      purpose: 'data_processing',
      withdrawn: false,
      message: /echo\.recordConsent\(principal, \{ purpose: "data_processing"/,
    })
    await rejectsWith(echo.enqueueRun(principal, experiment.id), ConsentRequiredError)
    assert.equal((await echo.listRuns(principal, experiment.id)).items.length, 0, 'nothing was started')
    assert.equal((await echo.quotaStatus(principal)).reserved, 0, 'nothing was reserved')
    // Each refusal is on the audit trail as denied (not failed), with its reason.
    const refusals = (
      await echo.auditEvents(Principal.admin(), { accountId: principal.accountId, action: 'run.enqueue' })
    ).events
    assert.deepEqual(
      refusals.map((e) => [e.result, e.errorKind]),
      [
        ['denied', 'consent_required'],
        ['denied', 'consent_required'],
      ],
    )

    const granted = await echo.recordConsent(principal, {
      purpose: DATA_PROCESSING,
      policyVersion: '2025-01',
      granted: true,
      source: 'signup_form',
    })
    assert.equal(granted.recordedBy, 'host')
    assert.equal(granted.source, 'signup_form')
    const report = await (await echo.startRun(principal, experiment.id)).wait()
    assert.equal(report.status, 'completed')

    await echo.recordConsent(principal, { purpose: DATA_PROCESSING, policyVersion: '2025-02', granted: false })
    await rejectsWith(echo.startRun(principal, experiment.id), ConsentRequiredError, { withdrawn: true })
    const consents = await echo.consents(principal)
    assert.deepEqual(
      consents.history.map((c) => [c.policyVersion, c.granted]),
      [
        ['2025-01', true],
        ['2025-02', false],
      ],
    )
    assert.equal(consents.current.length, 1)
    assert.equal(consents.current[0].granted, false)

    // A key holder cannot consent on the account's behalf.
    const key = await echo.createApiKey(principal, { name: 'ci', scopes: ['experiments:write', 'runs:write'] })
    const caller = await echo.authenticate(key.secret)
    await rejectsWith(
      echo.recordConsent(caller, { purpose: DATA_PROCESSING, policyVersion: '2025-02', granted: true }),
      PermissionDeniedError,
    )
    await rejectsWith(echo.recordConsent(principal, { purpose: ' ', policyVersion: 'v1', granted: true }), InvalidInputError, {
      field: 'consent.purpose',
    })
  } finally {
    await echo.close()
  }
})

test('privacy settings: defaults, normalized regions, unknown regions refused', async () => {
  const echo = await openEngine()
  try {
    const { principal } = await newAccount(echo)
    const defaults = await echo.privacySettings(principal)
    assert.equal(defaults.redactPii, false)
    assert.deepEqual(defaults.phoneRegions, ['US', 'GB', 'DE', 'FR'])
    const set = await echo.setPrivacySettings(principal, { redactPii: true, phoneRegions: ['us', 'de', 'US'] })
    assert.deepEqual(set, { redactPii: true, phoneRegions: ['DE', 'US'] })
    assert.deepEqual(await echo.privacySettings(principal), set)
    await rejectsWith(echo.setPrivacySettings(principal, { redactPii: true, phoneRegions: ['XX'] }), InvalidInputError)
    const reader = await echo.authenticate(
      (await echo.createApiKey(principal, { name: 'r', scopes: ['experiments:read'] })).secret,
    )
    await rejectsWith(echo.setPrivacySettings(reader, { redactPii: false }), PermissionDeniedError)
  } finally {
    await echo.close()
  }
})

// The audit trail through the Node API: the operator's query (filters, pagination), chain
// verification (also against an anchor), erasure of personal data and purging by age.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, test } from 'node:test'

import { InvalidInputError, ManualClock, PermissionDeniedError, Principal, auditActions } from 'echo-ai'

import { newAccount, openEngine, rejectsWith, spec } from './helpers.mjs'

const HOUR = 3600
const admin = Principal.admin()

let clock
let echo
let alice
let bob
let t0
before(async () => {
  clock = new ManualClock('2026-03-01T09:00:00.000Z')
  t0 = clock.now()
  echo = await openEngine({ clock })
  alice = await newAccount(echo, 'Alice')
  bob = await newAccount(echo, 'Bob')
  await echo.createExperiment(alice.principal, spec({ name: 'first' }))
  await echo.createExperiment(bob.principal, spec({ name: 'bob' }))
  clock.advance(HOUR)
  const fromBrowser = alice.principal.withRequest({
    ip: '203.0.113.7',
    userAgent: 'test-agent/1.0',
    requestId: 'req-42',
  })
  assert.equal(fromBrowser.request.requestId, 'req-42')
  await echo.createExperiment(fromBrowser, spec({ name: 'second' }))
})
after(async () => {
  await echo.close()
})

/** Every page of `query`, following `nextAfterSeq`. */
async function allPages(query) {
  const events = []
  let afterSeq
  for (let pages = 0; pages < 100; pages++) {
    const page = await echo.auditEvents(admin, { ...query, afterSeq })
    events.push(...page.events)
    if (page.nextAfterSeq === undefined) return { events, pages: pages + 1 }
    afterSeq = page.nextAfterSeq
  }
  throw new Error('more than 100 pages')
}

test('only operators query the trail; filters by account, action and time', async () => {
  await rejectsWith(echo.auditEvents(alice.principal), PermissionDeniedError)

  const mine = (await echo.auditEvents(admin, { accountId: alice.account.id })).events
  assert.ok(mine.every((e) => e.accountId === alice.account.id))
  assert.deepEqual(
    mine.map((e) => [e.action, e.result]),
    [
      ['account.create', 'success'],
      ['experiment.create', 'success'],
      ['experiment.create', 'success'],
      // Alice's refused look at the trail is on the record too.
      ['audit.read', 'denied'],
    ],
  )
  assert.equal(mine[3].errorKind, 'permission_denied')
  for (let i = 1; i < mine.length; i++) assert.ok(mine[i].seq > mine[i - 1].seq, 'oldest first')

  const created = (await echo.auditEvents(admin, { accountId: alice.account.id, action: 'experiment.create' })).events
  assert.equal(created.length, 2)
  assert.deepEqual(created[0].actor, { kind: 'host' })
  assert.deepEqual(created[0].target.type, 'experiment')
  assert.equal(created[0].result, 'success')
  assert.equal(created[0].occurredAt, t0)
  assert.deepEqual(created[1].request, { ip: '203.0.113.7', userAgent: 'test-agent/1.0', requestId: 'req-42' })

  const halfway = new Date(Date.parse(t0) + (HOUR / 2) * 1000).toISOString()
  const late = (await echo.auditEvents(admin, { action: 'experiment.create', from: halfway })).events
  assert.deepEqual(
    late.map((e) => e.seq),
    [created[1].seq],
  )
  const early = (await echo.auditEvents(admin, { action: 'experiment.create', to: halfway })).events
  assert.equal(early.length, 2, 'Alice and Bob before the hour')
  assert.ok(early.every((e) => e.occurredAt === t0))

  assert.throws(() => echo.auditEvents(admin, { action: 'run.explode' }), (err) => err instanceof InvalidInputError && err.field === 'query.action')
  await rejectsWith(echo.auditEvents(admin, { limit: 0 }), InvalidInputError, { field: 'audit.limit' })
  await rejectsWith(echo.auditEvents(admin, { from: halfway, to: t0 }), InvalidInputError, { field: 'audit.to' })
})

test('pagination by afterSeq returns every event once, in order', async () => {
  const whole = (await echo.auditEvents(admin, { accountId: alice.account.id })).events
  const paged = await allPages({ accountId: alice.account.id, limit: 1 })
  assert.equal(paged.pages, whole.length)
  assert.deepEqual(
    paged.events.map((e) => e.seq),
    whole.map((e) => e.seq),
  )
})

test('the chain verifies, also against an anchored head; a wrong anchor is reported', async () => {
  const verification = await echo.verifyAuditChain(admin)
  assert.equal(verification.ok, true)
  assert.ok(verification.eventsChecked >= 6)
  assert.equal(verification.firstBroken, undefined)

  const head = await echo.auditHead(admin)
  assert.match(head.hash, /^[0-9a-f]{64}$/)
  assert.equal((await echo.verifyAuditChainAgainst(admin, head)).ok, true)
  const forged = await echo.verifyAuditChainAgainst(admin, { seq: head.seq, hash: 'ab'.repeat(32) })
  assert.equal(forged.ok, false)
  assert.equal(forged.firstBroken.problem.kind, 'anchor_mismatch')
  assert.equal(forged.firstBroken.problem.anchorSeq, head.seq)
  assert.match(forged.firstBroken.message, new RegExp(`anchored event ${head.seq}`))

  await rejectsWith(echo.verifyAuditChain(alice.principal), PermissionDeniedError)
  await rejectsWith(echo.auditHead(alice.principal), PermissionDeniedError)
})

test("erasing an account's audit personal data keeps the events and the chain", async () => {
  const cleared = await echo.eraseAuditPersonalData(alice.account.id)
  assert.ok(cleared >= 1)
  const [, second] = (await echo.auditEvents(admin, { accountId: alice.account.id, action: 'experiment.create' }))
    .events
  assert.equal(second.personalDataErased, true)
  assert.deepEqual(second.request, { requestId: 'req-42' }, 'ip and user agent gone, the request id kept')
  assert.equal((await echo.verifyAuditChain(admin)).ok, true)
})

test('purging by age leaves a checkpoint the rest verifies from', async () => {
  clock.advance(2 * 24 * HOUR)
  await assert.rejects(echo.purgeAuditEvents(new Date(Date.parse(clock.now()) + 1000).toISOString()), {
    code: 'invalid_input',
    field: 'audit.purge.before',
  })
  const cutoff = new Date(Date.parse(t0) + (HOUR / 2) * 1000).toISOString()
  const before = (await echo.auditEvents(admin, { to: cutoff })).events
  assert.ok(before.length >= 4)
  const purge = await echo.purgeAuditEvents(cutoff)
  assert.equal(purge.eventsDeleted, before.length)
  assert.equal(purge.checkpointSeq, before.at(-1).seq)
  assert.equal((await echo.auditEvents(admin, { to: cutoff })).events.length, 0)
  const verification = await echo.verifyAuditChain(admin)
  assert.equal(verification.ok, true)
  assert.equal(verification.fromCheckpoint, purge.checkpointSeq)
  const purged = (await echo.auditEvents(admin, { action: 'audit.purge' })).events
  assert.ok(purged.length >= 1)
})

test('auditActions() lists the core actions, and the query type names each', () => {
  const actions = auditActions()
  assert.ok(actions.includes('account.deletion_request'))
  const declarations = fs.readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const block = /export interface AuditQuery \{([\s\S]*?)\n\}/.exec(declarations)
  assert.ok(block, 'AuditQuery is declared in index.d.ts')
  const declared = /action\?: ([^\n]*)/.exec(block[1])[1]
  assert.deepEqual([...declared.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort(), [...actions].sort())
})

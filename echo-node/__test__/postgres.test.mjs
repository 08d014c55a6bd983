// The Node API on PostgreSQL (ECHO_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres):
// a run and its report, and tenant isolation, on a database created for this test and
// dropped after. Without a server (or psql) the test is skipped loudly; with CI=true that
// is a failure.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'

import { NotFoundError } from 'echo-ai'

import { newAccount, openEngine, spec } from './helpers.mjs'

const adminUrl = process.env.ECHO_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `echo_node_test_${randomBytes(6).toString('hex')}`

function psql(sql) {
  return spawnSync('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8' })
}

let skipReason = null
let echo
before(async () => {
  const created = psql(`CREATE DATABASE ${dbName}`)
  if (created.error || created.status !== 0) {
    skipReason = `PostgreSQL unavailable at ${adminUrl}: ${created.error?.message ?? created.stderr.trim()}`
    if (process.env.CI === 'true') throw new Error(skipReason)
    console.warn(`SKIPPING the PostgreSQL tests: ${skipReason}`)
    return
  }
  const url = new URL(adminUrl)
  url.pathname = `/${dbName}`
  echo = await openEngine({ database: url.toString() })
})

after(async () => {
  if (echo) await echo.close()
  if (!skipReason) psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
})

test('runs, reports and tenant isolation on PostgreSQL', async (t) => {
  if (skipReason) return t.skip(skipReason)
  assert.equal(echo.backend, 'postgres')
  const a = await newAccount(echo, 'pg-a')
  const b = await newAccount(echo, 'pg-b')
  const experiment = await echo.createExperiment(a.principal, spec({ repeats: 10 }))
  const handle = await echo.startRun(a.principal, experiment.id, { seed: 5 })
  const report = await handle.wait()
  assert.equal(report.status, 'completed')
  assert.equal(report.counts.succeeded, 20)
  assert.deepEqual(await echo.report(a.principal, handle.runId).then((r) => r.counts), report.counts)
  await assert.rejects(echo.report(b.principal, handle.runId), NotFoundError)
  await assert.rejects(echo.getExperiment(b.principal, experiment.id), NotFoundError)
})

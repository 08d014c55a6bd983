// Shared set-up of the Node tests: an in-memory engine with the offline simulated provider,
// an account per test and a small experiment over the simulator's CRM demo brands.
import assert from 'node:assert/strict'

import { Echo, EchoError, Principal } from 'echo-ai'

export const SIM_TARGET = { provider: 'simulated', model: 'sim-1' }

/** An engine on a private in-memory SQLite database with the simulated provider. */
export function openEngine(options = {}) {
  return Echo.open({ simulated: { seed: 7 }, ...options })
}

/** A new account (tier `tier`) and the host principal acting for it. */
export async function newAccount(echo, name = 'acme', tier = 'pro') {
  const account = await echo.createAccount(Principal.admin(), { name, tier })
  return { account, principal: Principal.host(account.id) }
}

/** A valid experiment spec: `prompts` × 1 target × `repeats` samples. */
export function spec({ repeats = 5, prompts = 2, name = 'CRM study' } = {}) {
  return {
    name,
    prompts: Array.from({ length: prompts }, (_, i) => `Which CRM is best for team #${i + 1}?`),
    brands: [
      { name: 'HubSpot', aliases: ['HubSpot CRM'], domains: ['hubspot.com'], role: 'target' },
      { name: 'Salesforce', domains: ['salesforce.com'] },
      { name: 'Pipedrive' },
    ],
    targets: [SIM_TARGET],
    repeats,
  }
}

/** Asserts that `promise` rejects with an instance of `Cls` whose fields match `props`. */
export async function rejectsWith(promise, Cls, props = {}) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${err?.constructor?.name}: ${err?.message}`)
    assert.ok(err instanceof EchoError)
    assert.ok(err instanceof Error)
    assert.equal(err.name, Cls.name)
    assert.equal(err.code, Cls.code)
    for (const [key, value] of Object.entries(props)) {
      if (value instanceof RegExp) assert.match(err[key], value)
      else assert.deepEqual(err[key], value)
    }
    return true
  })
}

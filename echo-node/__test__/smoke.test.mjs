// Smoke tests through the package's public entry point, loaded as an ES module.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import echo, { validateTarget, version } from 'echo-ai'

const require = createRequire(import.meta.url)

test('version() matches package.json', () => {
  assert.equal(version(), require('echo-ai/package.json').version)
})

test('named ESM exports are the CommonJS exports', () => {
  assert.equal(echo.validateTarget, validateTarget)
  assert.equal(require('echo-ai').version, version)
})

test('validateTarget splits provider and model', () => {
  assert.deepEqual(validateTarget('openai/gpt-4o-mini'), { provider: 'openai', model: 'gpt-4o-mini' })
  // The model part may contain '/', and both parts are trimmed.
  assert.deepEqual(validateTarget(' openrouter / meta-llama/llama-3 '), {
    provider: 'openrouter',
    model: 'meta-llama/llama-3',
  })
})

for (const bad of ['gpt-4o', 'openai/', '/gpt-4o', ' / ', '']) {
  test(`validateTarget(${JSON.stringify(bad)}) throws invalid_input`, () => {
    assert.throws(
      () => validateTarget(bad),
      (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.code, 'invalid_input')
        assert.match(err.message, /^invalid target: .* is not of the form provider\/model$/)
        return true
      },
    )
  })
}

test('a non-string argument is refused by napi before it reaches the core', () => {
  assert.throws(() => validateTarget(42), { code: 'StringExpected', message: /into rust type `String`/ })
})

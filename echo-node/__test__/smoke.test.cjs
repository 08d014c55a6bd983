// The same entry point loaded with require(), as CommonJS consumers do.
const assert = require('node:assert/strict')
const { test } = require('node:test')

const echo = require('echo-ai')

test('CommonJS require exposes the bindings', () => {
  assert.equal(typeof echo.version, 'function')
  assert.equal(echo.version(), require('echo-ai/package.json').version)
  assert.deepEqual(echo.validateTarget('simulated/model-a'), { provider: 'simulated', model: 'model-a' })
})

test('errors thrown to CommonJS callers carry the core error kind as code', () => {
  assert.throws(() => echo.validateTarget('no-slash'), { code: 'invalid_input' })
})

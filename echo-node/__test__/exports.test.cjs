// The type declarations name exactly what the package exports, for CommonJS and ESM.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const root = path.resolve(__dirname, '..')
const cjs = require('echo-ai')

/** Names a declaration file exports as values (functions, classes, consts, enums). */
function declaredValues(file) {
  const text = fs.readFileSync(path.join(root, file), 'utf8')
  const names = new Set()
  for (const m of text.matchAll(/^export declare (?:function|class|const|enum|const enum) ([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1])
  }
  return names
}

test('index.d.ts and lib/index.d.ts declare exactly the runtime exports', () => {
  const declared = new Set([...declaredValues('index.d.ts'), ...declaredValues('lib/index.d.ts')])
  const exported = new Set(Object.keys(cjs))
  const missingTypes = [...exported].filter((n) => !declared.has(n))
  const missingValues = [...declared].filter((n) => !exported.has(n))
  assert.deepEqual(missingTypes, [], 'exported but not declared')
  assert.deepEqual(missingValues, [], 'declared but not exported')
})

test('the ESM entry exports the same names as the CommonJS entry', async () => {
  const esm = await import('echo-ai')
  const named = Object.keys(esm).filter((n) => n !== 'default')
  assert.deepEqual(named.sort(), Object.keys(cjs).sort())
  for (const name of named) assert.equal(esm[name], cjs[name], name)
  assert.equal(esm.default, cjs)
})

test('a typed usage file compiles against the declarations (tsc --noEmit)', (t) => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  if (!fs.existsSync(tsc)) {
    t.skip('typescript is not installed (npm install in echo-node)')
    return
  }
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'types')], {
    encoding: 'utf8',
  })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('a deliberately wrong usage fails to compile (the check can fail)', (t) => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  if (!fs.existsSync(tsc)) {
    t.skip('typescript is not installed')
    return
  }
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'types', 'wrong')], {
    encoding: 'utf8',
  })
  assert.notEqual(result.status, 0)
  // Each wrong line is reported: the misspelled plan field, the missing `repeats`, and the
  // misspelled adaptive goal field.
  for (const culprit of [/'halfWidht'/, /'repeats'/, /'halfwidth'/]) assert.match(result.stdout, culprit)
})

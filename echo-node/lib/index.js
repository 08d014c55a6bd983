'use strict'
// The package entry of echo-ai (CommonJS; index.mjs is the ES module entry).
//
// `../index.js` is the loader napi generates (it picks the binary for this platform); this
// file adds what is better written in JavaScript: the error classes (lib/errors.js), which
// the native module instantiates through the factory registered here, and the async
// iterator of RunHandle (`for await (const progress of handle)`).

const native = require('../index.js')
const errors = require('./errors.js')

native.registerErrorFactory(errors.fromInfo)

/** Progress of the run until it ends: `for await (const p of handle) { ... }`. */
native.RunHandle.prototype[Symbol.asyncIterator] = async function* progressUpdates() {
  for (;;) {
    const progress = await this.nextProgress()
    if (progress === null) return
    yield progress
  }
}

const { fromInfo, ...errorExports } = errors
module.exports = { ...native, ...errorExports }

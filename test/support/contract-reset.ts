/** Before the suite (tap's `before`): forget what an earlier run saw (test/support/contract.ts). */
import { rmSync } from 'node:fs'
import { seenDir } from './contract.js'

rmSync(seenDir, { recursive: true, force: true })

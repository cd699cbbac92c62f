/**
 * After the whole suite (tap's `after`): every response the document lists was produced by
 * some test and matched it (test/support/contract.ts recorded each), except the few a test
 * cannot produce on purpose, named below with the reason. Only a full `npm test` run is
 * judged (LWA_CONTRACT_COVERAGE=1): one test file alone cannot cover the document.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { doc, seenDir } from './contract.js'

/** Documented for completeness, never produced on purpose, and why. */
const unreachable: Record<string, string> = {
  '500': 'a 500 is always a bug',
}
const isUnreachable = (key: string, status: string): boolean => unreachable[status] !== undefined || unreachable[key] !== undefined

function documented(): string[] {
  const all: string[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'servers') continue
      for (const [status, response] of Object.entries(operation.responses)) {
        const key = `${method.toUpperCase()} ${path} ${status}`
        if (isUnreachable(key, status)) continue
        const schema = ((response.content as Record<string, Record<string, unknown>> | undefined)?.['application/json']?.schema ?? {}) as Record<string, unknown>
        const codes = ((((schema.allOf as Array<Record<string, unknown>> | undefined)?.[1]?.properties as Record<string, { enum?: string[] }> | undefined)?.error?.enum)
          ?? ((schema.properties as Record<string, { enum?: string[] }> | undefined)?.error?.enum)) ?? []
        if (codes.length === 0) all.push(key)
        else for (const code of codes) all.push(`${key} ${code}`)
      }
    }
  }
  return all
}

function seen(): Set<string> {
  const lines = new Set<string>()
  for (const file of readdirSync(seenDir, { withFileTypes: true })) {
    if (!file.isFile()) continue
    for (const line of readFileSync(join(seenDir, file.name), 'utf8').split('\n')) if (line) lines.add(line)
  }
  return lines
}

if (process.env.LWA_CONTRACT_COVERAGE === '1') {
  const produced = seen()
  // A response covers its operation and status even when its body names no documented code.
  const missing = documented().filter((key) => !produced.has(key))
  rmSync(seenDir, { recursive: true, force: true })
  if (missing.length > 0) {
    process.stderr.write(`openapi.yaml documents responses no test produced:\n  ${missing.join('\n  ')}\n`)
    process.exit(1)
  }
  process.stdout.write(`contract: every documented response was produced and matched openapi.yaml\n`)
}

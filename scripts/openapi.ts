/**
 * Writes openapi.yaml from the code: the route schemas of both listeners, as @fastify/swagger
 * reads them off a broker with every optional route configured, plus the document-level parts
 * in src/http/contract/document.ts. `npm run openapi` writes it; `--check` exits 1 when the
 * committed file differs (a test runs that too).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenApi } from './openapi-document.js'

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
const text = await generateOpenApi()
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== text) {
    process.stderr.write('openapi.yaml is not what the code generates: run `npm run openapi` and commit the result\n')
    process.exit(1)
  }
} else {
  writeFileSync(target, text)
}

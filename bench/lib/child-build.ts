import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchDir, repoDir } from './results.js'

/**
 * Server children run compiled JavaScript, as production does (`npm run build && npm start`),
 * so memory and start-up are not inflated by tsx (about +45 MB RSS). Compiled once per run
 * with the project's own tsc into a temporary directory; BENCH_CHILD=tsx runs the sources
 * through tsx instead.
 */
let built: string | undefined

export function childEntry(): { args: string[]; mode: 'compiled' | 'tsx' } {
  if (process.env.BENCH_CHILD === 'tsx') return { args: ['--import', 'tsx', join(benchDir, 'lib', 'server-child.ts')], mode: 'tsx' }
  if (!built) {
    const out = mkdtempSync(join(tmpdir(), 'lwa-broker-bench-js-'))
    process.once('exit', () => rmSync(out, { recursive: true, force: true }))
    try {
      execFileSync(process.execPath, [join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(benchDir, 'tsconfig.child.json'), '--outDir', out], { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      // tsc still emits JavaScript when the types do not check (work in progress in src/):
      // benchmark it anyway, and say so; `npm run typecheck` is where type errors are dealt with.
      const output = String((err as { stdout?: string }).stdout ?? '')
      process.stderr.write(`bench: tsc reported type errors while compiling the server child (running the emitted JavaScript anyway):\n${output.split('\n').slice(0, 5).join('\n')}\n`)
    }
    // Bare package names resolve through the project's node_modules; .js files are ES modules.
    symlinkSync(join(repoDir, 'node_modules'), join(out, 'node_modules'), 'dir')
    writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }))
    built = join(out, 'bench', 'lib', 'server-child.js')
    if (!existsSync(built)) throw new Error(`compiled server child not found at ${built}`)
  }
  return { args: ['--enable-source-maps', built], mode: 'compiled' }
}

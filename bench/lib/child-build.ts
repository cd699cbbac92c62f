import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoDir } from './results.js'

/**
 * Server children run compiled JavaScript, as production does (`npm run build && npm start`),
 * so memory and start-up are not inflated by tsx (about +45 MB RSS). Compiled once per run
 * with the project's own tsc into a temporary directory; BENCH_CHILD=tsx runs the sources
 * through tsx instead.
 */
const built = new Map<string, string>()

/**
 * The server child of the sources at `root`: this checkout, or a baseline commit's worktree
 * (bench/lib/baseline.ts) so that two versions of the broker are measured in one run.
 */
export function childEntry(root = repoDir): { args: string[]; mode: 'compiled' | 'tsx' } {
  if (process.env.BENCH_CHILD === 'tsx') return { args: ['--import', 'tsx', join(root, 'bench', 'lib', 'server-child.ts')], mode: 'tsx' }
  if (!built.has(root)) {
    const out = mkdtempSync(join(tmpdir(), 'lwa-broker-bench-js-'))
    process.once('exit', () => rmSync(out, { recursive: true, force: true }))
    try {
      execFileSync(process.execPath, [join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'bench', 'tsconfig.child.json'), '--outDir', out], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      // tsc still emits JavaScript when the types do not check (work in progress in src/):
      // benchmark it anyway, and say so; `npm run typecheck` is where type errors are dealt with.
      const output = String((err as { stdout?: string }).stdout ?? '')
      process.stderr.write(`bench: tsc reported type errors while compiling the server child (running the emitted JavaScript anyway):\n${output.split('\n').slice(0, 5).join('\n')}\n`)
    }
    // Bare package names resolve through the project's node_modules; .js files are ES modules.
    symlinkSync(join(repoDir, 'node_modules'), join(out, 'node_modules'), 'dir')
    writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }))
    const entry = join(out, 'bench', 'lib', 'server-child.js')
    if (!existsSync(entry)) throw new Error(`compiled server child not found at ${entry}`)
    built.set(root, entry)
  }
  return { args: ['--enable-source-maps', built.get(root) as string], mode: 'compiled' }
}

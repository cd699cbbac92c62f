import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

/** The README's "Why each dependency is there" table: package names by kind. */
function readmeTable(): { runtime: string[]; dev: string[] } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Why each dependency is there'))
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| package'))
  const runtime: string[] = []
  const dev: string[] = []
  for (const row of rows) {
    const cell = row.split(' | ')[0] as string
    const names = [...cell.matchAll(/`([^`\s]+?)`/g)].map((m) => m[1] as string)
    ;(cell.includes('dev:') ? dev : runtime).push(...names)
  }
  return { runtime: runtime.sort(), dev: dev.sort() }
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
}

const imported = (texts: string[], name: string): boolean =>
  texts.some((text) => text.includes(`'${name}'`) || text.includes(`'${name}/`))

t.test('the README\'s dependency table names exactly what package.json installs, dev ones as dev', async (t) => {
  const table = readmeTable()
  t.same(table.runtime, Object.keys(pkg.dependencies).sort(), 'runtime dependencies')
  // typescript is named with its version line (`typescript` 5.9); versions are not package names.
  t.same(table.dev, Object.keys(pkg.devDependencies).sort(), 'dev dependencies')
})

t.test('nothing installed goes unused: every runtime dependency is imported by src/, every dev one by the tooling', async (t) => {
  const src = sources('src')
  for (const name of Object.keys(pkg.dependencies)) t.ok(imported(src, name), `${name} is imported in src/`)
  const tooling = [...src, ...sources('test'), ...sources('bench'), ...sources('scripts'), ...sources('examples')]
  // Used by name on the command line or in configuration, not by an import.
  const byCommand = new Set(['tap', 'tsx', 'typescript', '@types/node', '@types/autocannon'])
  for (const name of Object.keys(pkg.devDependencies).filter((n) => !byCommand.has(n))) {
    t.ok(imported(tooling, name), `${name} is imported by the tests, benchmarks or scripts`)
  }
})

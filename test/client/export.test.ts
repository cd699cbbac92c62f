// `lwa-broker/client` as a caller's package sees it: the subpath export points where the build
// puts the client and its types, it loads, and it needs nothing at run time beyond Node.
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const clientDir = join(repo, 'src/client')
const sources = readdirSync(clientDir).filter((f) => f.endsWith('.ts')).map((f) => join(clientDir, f))
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, { types: string; default: string }>
}
const exported = manifest.exports['./client']

t.test('the client imports only Node\'s own modules and its own files: no runtime dependency', async (t) => {
  t.ok(sources.length >= 3, 'its files')
  for (const file of sources) {
    const specifiers = [...readFileSync(file, 'utf8').matchAll(/^(?:import|export) .* from '([^']+)'/gm)]
      .map((m) => m[1] as string)
    t.same(specifiers.filter((s) => !s.startsWith('node:') && !/^\.\/[\w-]+\.js$/.test(s)), [], relative(repo, file))
  }
})

t.test('built as tsconfig.build.json builds it: JS and types where the export points, and it loads', async (t) => {
  t.equal(manifest.name, 'lwa-broker', 'imported as lwa-broker/client')
  t.ok(exported, 'package.json exports ./client')
  const outDir = t.testdir()
  const { config } = ts.readConfigFile(join(repo, 'tsconfig.build.json'), ts.sys.readFile)
  const options = ts.parseJsonConfigFileContent(config, ts.sys, repo).options
  const program = ts.createProgram(sources, { ...options, outDir: join(outDir, 'dist'), rootDir: join(repo, 'src') })
  const emitted = program.emit()
  t.same(ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics).map((d) => d.messageText), [])
  const js = join(outDir, exported?.default ?? '')
  const types = join(outDir, exported?.types ?? '')
  t.ok(existsSync(js) && existsSync(types), `${exported?.default} and ${exported?.types}`)
  t.match(readFileSync(types, 'utf8'), /export declare class BrokerClient\b/)
  const client = await import(pathToFileURL(js).href) as Record<string, unknown>
  t.same(['BrokerClient', 'BrokerClientError'].map((name) => typeof client[name]), ['function', 'function'])
})

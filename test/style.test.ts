/**
 * The shape of src/ that STYLE.md asks for, checked so it stays that way: lines short enough
 * that a file's size means something, files small, and the core free of HTTP (nothing
 * outside src/http imports Fastify or a Fastify plugin).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

const src = join(import.meta.dirname, '../src')
const maxLineChars = 120
const maxFileLines = 240

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : []
  })
}

const files = sources(src).map((path) => ({ name: relative(src, path), lines: readFileSync(path, 'utf8').split('\n') }))

t.test(`every line of src/ is at most ${maxLineChars} characters`, async (t) => {
  const long = files.flatMap((f) => f.lines.flatMap((line, i) => (line.length > maxLineChars ? [`${f.name}:${i + 1} (${line.length})`] : [])))
  t.same(long, [])
})

t.test(`every file of src/ is at most ${maxFileLines} lines`, async (t) => {
  t.same(files.filter((f) => f.lines.length > maxFileLines).map((f) => `${f.name} (${f.lines.length})`), [])
})

t.test('the core imports no Fastify: HTTP is the shell in src/http', async (t) => {
  const fastify = /from '(fastify|@fastify\/[^']+)'/
  const offenders = files.filter((f) => !f.name.startsWith('http/') && f.lines.some((line) => fastify.test(line))).map((f) => f.name)
  t.same(offenders, [])
})

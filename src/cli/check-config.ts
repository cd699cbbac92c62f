import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type ConfigProblem } from '../config/index.js'
import { formatSummary, summarizeConfig, type ConfigSummary } from './config-summary.js'
import { exitCode, parseOrUsage, printable, UsageError, type Command, type Io } from './io.js'

const defaultConfigPath = './broker.yaml'
/** The variables loadConfig lets override the file; named in the summary when set. */
const overrideVariables = [
  'LWA_BROKER_HOST', 'LWA_BROKER_PORT', 'LWA_BROKER_OPS_HOST', 'LWA_BROKER_OPS_PORT', 'LWA_BROKER_LOG_LEVEL',
] as const

export interface CheckResult {
  ok: boolean
  file: string
  problems: ConfigProblem[]
  summary?: ConfigSummary
}

export const checkConfigCommand: Command = {
  name: 'check-config',
  usage: `Usage: lwa-broker check-config [PATH] [--json]

Validates PATH (default: $LWA_BROKER_CONFIG, else ./broker.yaml) with the broker's own
loader, the LWA_BROKER_HOST/PORT, LWA_BROKER_OPS_HOST/PORT and LWA_BROKER_LOG_LEVEL overrides included.
Exit 0: valid, a summary on stdout. Exit 2: invalid or unreadable, every problem on
stderr as FILE: FIELD: MESSAGE.

  --json   print {ok, file, problems, summary} on stdout instead (same exit codes)`,

  async run(args, io) {
    const { values, positionals } = parseOrUsage(() => parseArgs({
      args, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false } },
    }))
    if (positionals.length > 1) throw new UsageError('expects at most one PATH')
    const path = positionals[0] ?? io.env.LWA_BROKER_CONFIG ?? defaultConfigPath
    const result = check(path, io)
    if (values.json) io.out(JSON.stringify(result, null, 2))
    else report(result, io)
    return result.ok ? exitCode.ok : exitCode.invalidConfig
  },
}

/** The same call src/main.ts makes, so "check-config passes" means "the broker starts with it". */
function check(path: string, io: Io): CheckResult {
  try {
    const config = loadConfig(path, io.env)
    return { ok: true, file: resolve(path), problems: [], summary: summarizeConfig(config) }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, file: err.file, problems: [...err.problems] }
  }
}

function report(result: CheckResult, io: Io): void {
  if (result.summary) {
    const overrides = overrideVariables.filter((name) => io.env[name])
    for (const line of formatSummary(result.file, result.summary, overrides)) io.out(line)
    return
  }
  // One problem per line, each naming the file: greppable, and editors can jump to it.
  for (const problem of result.problems) {
    io.err(`${printable(result.file)}: ${printable(problem.field || '(top level)')}: ${printable(problem.message)}`)
  }
}

/** A config problem: names the file and every offending field, and stops start-up. */
export class ConfigError extends Error {
  readonly file: string
  readonly problems: readonly ConfigProblem[]

  constructor(file: string, problems: readonly ConfigProblem[]) {
    super(`invalid config ${file}:\n` + problems.map((p) => `  - ${p.field || '(top level)'}: ${p.message}`).join('\n'))
    this.name = 'ConfigError'
    this.file = file
    this.problems = problems
  }
}

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `credentials.ads-us.region`. */
  field: string
  message: string
}

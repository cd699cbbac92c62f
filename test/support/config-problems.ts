import { ConfigError, type ConfigProblem } from '../../src/config/index.js'

/** The problems a config load is refused with; a load that succeeds fails the test. */
export function problemsOf(load: () => unknown): ConfigProblem[] {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  throw new Error('expected a ConfigError, but the config loaded')
}

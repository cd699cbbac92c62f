/**
 * The environment for a child process run by a test, with tap's coverage collection off
 * for it: the child loads the sources through tsx, whose source maps merge into tap's
 * report as full coverage of every file they touch and would hide what the in-process
 * tests miss. (@tapjs/processinfo copies its settings into every child unless the child's
 * env sets them itself.)
 */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}

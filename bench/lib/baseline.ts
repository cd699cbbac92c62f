import { execFileSync } from 'node:child_process'
import { mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoDir } from './results.js'

let worktree: { rev: string; dir: string } | undefined

/**
 * BENCH_BASELINE=<git revision>: that commit's broker, checked out beside this one, so a
 * benchmark measures before and after a change in the same run (alternated, on the same
 * machine, at the same time). Undefined without the variable.
 */
export function baseline(): { rev: string; dir: string } | undefined {
  const rev = process.env.BENCH_BASELINE
  if (!rev) return undefined
  if (!worktree) {
    const dir = mkdtempSync(join(tmpdir(), 'lwa-broker-baseline-'))
    const git = (args: string[]): string => execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' }).trim()
    git(['worktree', 'add', '--detach', dir, rev])
    process.once('exit', () => {
      try {
        git(['worktree', 'remove', '--force', dir])
      } catch {
        // Left for `git worktree prune`.
      }
    })
    // The baseline's own sources, this checkout's installed packages.
    symlinkSync(join(repoDir, 'node_modules'), join(dir, 'node_modules'), 'dir')
    worktree = { rev: git(['rev-parse', '--short', rev]), dir }
  }
  return worktree
}

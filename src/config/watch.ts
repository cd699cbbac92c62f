import { createHash } from 'node:crypto'
import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'

/** Changes that come together (an editor's write and rename, a ConfigMap's symlink swap) are one reload. */
const settleMs = 200

/**
 * Calls `changed` when the config file's content changes. The directory is watched, not the
 * file: a Kubernetes ConfigMap update swaps the `..data` symlink the file resolves through,
 * and an editor replaces the file by rename; a watch on the old inode would hear neither.
 * Content is compared, so the many events of one update (or a touch) reload at most once.
 */
export function watchConfigFile(file: string, changed: () => void): { close(): void } {
  const path = resolve(file)
  let last = fingerprint(path)
  let timer: NodeJS.Timeout | undefined
  const check = (): void => {
    timer = undefined
    const now = fingerprint(path)
    if (now === last) return
    last = now
    changed()
  }
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, name) => {
    // Any entry can be the one the file resolves through (`..data`), so only other files' names are skipped.
    if (name && name !== basename(path) && !name.startsWith('..')) return
    clearTimeout(timer)
    timer = setTimeout(check, settleMs)
  })
  return {
    close() {
      clearTimeout(timer)
      watcher.close()
    },
  }
}

/** A missing or unreadable file is a change too: the reload then reports why it cannot read it. */
function fingerprint(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex')
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`
  }
}

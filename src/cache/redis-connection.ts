import { readFile } from 'node:fs/promises'
import type { BrokerConfig } from '../config/index.js'
import type { RedisAuth, RedisConnection } from './redis-clients.js'

/**
 * The Redis connection `config.cache` describes, with the passwords read from their files
 * (a Kubernetes Secret mounted as a file keeps them out of the config). Read once at
 * start-up; errors name the field and the file, never what it holds.
 */
export async function redisConnection(cache: BrokerConfig['cache']): Promise<RedisConnection> {
  const auth: RedisAuth = {
    ...(cache.username === undefined ? {} : { username: cache.username }),
    ...(cache.passwordFile === undefined
      ? {}
      : { password: await readPassword('cache.passwordFile', cache.passwordFile) }),
  }
  if (cache.cluster) return { ...auth, cluster: cache.cluster }
  if (cache.sentinel) {
    const { passwordFile, ...sentinel } = cache.sentinel
    const password = passwordFile === undefined
      ? {}
      : { password: await readPassword('cache.sentinel.passwordFile', passwordFile) }
    return { ...auth, sentinel: { ...sentinel, ...password } }
  }
  if (cache.url !== undefined) return { ...auth, url: cache.url }
  throw new TypeError('cache.url, cache.sentinel or cache.cluster is required when cache.backend is "redis"')
}

/** The file's text without the line end an editor or `echo` leaves. */
async function readPassword(field: string, file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${field} ${file}: cannot be read (${err.code ?? 'error'})`)
  })
  const password = text.replace(/\r?\n$/, '')
  if (password === '') throw new Error(`${field} ${file}: is empty`)
  return password
}

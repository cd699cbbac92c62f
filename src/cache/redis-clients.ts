import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

/** Give up connecting after this long; the broker serves from its own layer meanwhile. */
export const redisConnectTimeoutMs = 1000
/** A command Redis has not answered in this long fails (a hung server must not hold callers). */
export const redisCommandTimeoutMs = 1000
/** Reconnect attempts back off from this... */
export const redisReconnectBaseMs = 50
/** ...up to this, forever: a replica rejoins whenever Redis returns. */
export const redisReconnectMaxMs = 2000

/** One Redis endpoint, or one Sentinel or Cluster client: the commands the broker sends are the same. */
export type RedisClient = Redis | Cluster

export interface RedisEndpoint {
  host: string
  port: number
}

/** AUTH for the Redis servers themselves (not the sentinels); read from files, never from the config. */
export interface RedisAuth {
  username?: string
  password?: string
}

/** Where Redis is: one endpoint, a Sentinel-managed master, or a Cluster. */
export type RedisTopology =
  | { url: string }
  | { sentinel: { name: string; sentinels: readonly RedisEndpoint[]; tls?: boolean; password?: string } }
  | { cluster: { nodes: readonly RedisEndpoint[]; tls?: boolean } }

export type RedisConnection = RedisTopology & RedisAuth

export interface RedisClients {
  /** Keys, scripts and rate-limit counters; every key goes under `keyPrefix`. */
  commands: RedisClient
  /** Pub/sub only (a subscribed connection can run nothing else). */
  subscriber: RedisClient
}

/** What every connection to a Redis server gets, whichever topology it belongs to. */
const connectionOptions = {
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  connectTimeout: redisConnectTimeoutMs,
  commandTimeout: redisCommandTimeoutMs,
  // A master demoted by a failover answers writes with READONLY while the connection stays
  // open (a DNS endpoint or Sentinel now names another server): reconnecting finds the new
  // master. The refused command is not sent again.
  reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
} satisfies RedisOptions

const backoff = (attempt: number): number => Math.min(redisReconnectBaseMs * 2 ** (attempt - 1), redisReconnectMaxMs)

/**
 * Clients that fail fast: nothing is queued while Redis is away, and a command in flight
 * when the connection drops fails at once rather than being replayed later (a replayed
 * lock would be held by nobody). Reconnection goes on in the background.
 */
export function fastFailingOptions(keyPrefix?: string): RedisOptions {
  return {
    ...(keyPrefix ? { keyPrefix } : {}),
    ...connectionOptions,
    enableOfflineQueue: false,
    retryStrategy: backoff,
  }
}

/**
 * fastFailingOptions for a Cluster. Redirections (MOVED, ASK, TRYAGAIN) are followed: the
 * command did not run. A command whose node connection closed may have run, and CLUSTERDOWN
 * lasts as long as a failover, so both fail at once instead of being retried on a delay.
 */
export function fastFailingClusterOptions(keyPrefix: string | undefined, node: RedisOptions): ClusterOptions {
  return {
    ...(keyPrefix ? { keyPrefix } : {}),
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    slotsRefreshTimeout: redisConnectTimeoutMs,
    clusterRetryStrategy: backoff,
    redisOptions: { ...connectionOptions, ...node },
  }
}

/** Opens both connections (commands with the key prefix, subscriber without) to `connection`. */
export function createRedisClients(connection: RedisConnection, keyPrefix: string): RedisClients {
  return { commands: createClient(connection, keyPrefix), subscriber: createClient(connection) }
}

/**
 * ioredis connects to a cluster node on its first command and, without an offline queue,
 * refuses the commands that arrive while it connects: a cold start's burst would find Redis
 * "away". Once the cluster is ready each node is connected at once instead (a replica too, so
 * it is ready when a failover promotes it). Not before: the ready check itself would be refused
 * by a node still connecting.
 */
function connectingEagerly(cluster: Cluster): Cluster {
  const connect = (node: Redis): void => {
    if (node.status === 'wait') node.connect().catch(() => {})
  }
  cluster.on('ready', () => cluster.nodes('all').forEach(connect))
  cluster.on('+node', (node: Redis) => {
    if (cluster.status === 'ready') connect(node)
  })
  return cluster
}

/** Whether commands can go through `client` now: for a Cluster, to every master it knows. */
export function clientReady(client: RedisClient): boolean {
  if (client.status !== 'ready') return false
  return !(client instanceof Cluster) || client.nodes('master').every((node) => node.status === 'ready')
}

function createClient(connection: RedisConnection, keyPrefix?: string): RedisClient {
  const auth: RedisOptions = {
    ...(connection.username === undefined ? {} : { username: connection.username }),
    ...(connection.password === undefined ? {} : { password: connection.password }),
  }
  if ('cluster' in connection) {
    const { nodes, tls } = connection.cluster
    // TLS certificates (ElastiCache's among them) carry host names: connect to the names the
    // cluster gives rather than the addresses ioredis would resolve them to first.
    const byName = tls ? { dnsLookup: (host: string, done: (e: null, a: string) => void) => done(null, host) } : {}
    const node = { ...auth, ...(tls ? { tls: {} } : {}) }
    return connectingEagerly(new Cluster([...nodes], { ...fastFailingClusterOptions(keyPrefix, node), ...byName }))
  }
  if ('sentinel' in connection) {
    const { name, sentinels, tls, password } = connection.sentinel
    return new Redis({
      ...fastFailingOptions(keyPrefix),
      ...auth,
      name,
      sentinels: [...sentinels],
      sentinelCommandTimeout: redisCommandTimeoutMs,
      ...(password === undefined ? {} : { sentinelPassword: password }),
      ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    })
  }
  // rediss:// turns TLS on; credentials may sit in the URL.
  return new Redis(connection.url, { ...fastFailingOptions(keyPrefix), ...auth })
}

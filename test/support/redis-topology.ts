// Redis as production runs it, on loopback and owned by one test file: a master and a
// replica watched by three sentinels, or a Redis Cluster of masters with a replica each.
// Every server requires a password, as a production one does; a master can be killed
// (like a crash) and the test waits for the failover that follows.
import { execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { RedisConnection } from '../../src/cache/index.js'
import { ephemeralArgs, freePort, kill, spawnRedis } from './redis-server.js'

export const serverPassword = 'redis-server-password'
export const sentinelPassword = 'redis-sentinel-password'
const host = '127.0.0.1'
const masterName = 'lwa-test-master'
/** Short enough that a failover takes seconds, long enough for a loaded 2-core machine. */
const downAfterMs = 1000
const readyTimeoutMs = 20_000

/** A plain client to one server (or sentinel) on loopback, to ask it what it knows. */
async function ask<T>(port: number, password: string, question: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ host, port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return await question(client)
  } finally {
    client.disconnect()
  }
}

/** Polls `check` (errors count as "not yet") until it holds; the error names `what`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = readyTimeoutMs): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const infoField = (info: string, field: string): string | undefined =>
  new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim()

/** Servers started by one topology, by port, and the directory their files live in. */
class Processes {
  readonly dir = mkdtempSync(join(tmpdir(), 'lwa-redis-'))
  private readonly children = new Map<number, ChildProcess>()

  async server(port: number, args: readonly string[] = []): Promise<void> {
    const auth = ['--requirepass', serverPassword, '--masterauth', serverPassword]
    this.children.set(port, await spawnRedis(['--port', String(port), '--dir', this.dir, ...ephemeralArgs, ...auth, ...args]))
  }

  async sentinel(port: number, masterPort: number): Promise<void> {
    const file = join(this.dir, `sentinel-${port}.conf`)
    writeFileSync(file, [
      `port ${port}`, `bind ${host}`, `dir ${this.dir}`,
      `requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`,
      `sentinel monitor ${masterName} ${host} ${masterPort} 2`,
      `sentinel auth-pass ${masterName} ${serverPassword}`,
      `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
      `sentinel failover-timeout ${masterName} 5000`,
    ].join('\n'))
    this.children.set(port, await spawnRedis([file, '--sentinel'], '+monitor master'))
  }

  async kill(port: number): Promise<void> {
    await kill(this.children.get(port))
    this.children.delete(port)
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.values()].map(kill))
    this.children.clear()
    // A master may have forked a child to write a replica's sync file, which outlives its SIGKILLed parent a moment.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 })
  }
}

export class SentinelTopology {
  private constructor(private readonly processes: Processes, readonly sentinelPorts: number[]) {}

  /** A master, its replica in sync, and three sentinels that know both and each other. */
  static async start(): Promise<SentinelTopology> {
    const processes = new Processes()
    const [master, replica, ...sentinels] = await Promise.all(Array.from({ length: 5 }, freePort)) as [number, number, ...number[]]
    const topology = new SentinelTopology(processes, sentinels)
    try {
      await processes.server(master)
      await processes.server(replica, ['--replicaof', host, String(master)])
      for (const port of sentinels) await processes.sentinel(port, master)
      await until('the replica to sync', () => ask(replica, serverPassword, async (c) =>
        infoField(await c.info('replication'), 'master_link_status') === 'up'))
      // A failover needs a majority of sentinels that know each other and the replica.
      for (const port of sentinels) {
        await until(`sentinel ${port} to know its peers`, () => ask(port, sentinelPassword, async (c) => {
          const fields = await c.call('SENTINEL', 'MASTER', masterName) as string[]
          const value = (name: string) => fields[fields.indexOf(name) + 1]
          return value('num-other-sentinels') === '2' && value('num-slaves') === '1'
        }))
      }
    } catch (err) {
      await processes.stop()
      throw err
    }
    return topology
  }

  get connection(): RedisConnection {
    return {
      sentinel: { name: masterName, sentinels: this.sentinelPorts.map((port) => ({ host, port })), password: sentinelPassword },
      password: serverPassword,
    }
  }

  /** The master's port, as the sentinels tell it. */
  async masterPort(): Promise<number> {
    const [, port] = await ask(this.sentinelPorts[0] as number, sentinelPassword, (c) =>
      c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string]
    return Number(port)
  }

  /** Kills the master; resolves once the sentinels have promoted the replica and it takes writes. */
  async failOver(): Promise<number> {
    const old = await this.masterPort()
    await this.processes.kill(old)
    let promoted = old
    await until('the sentinels to promote the replica', async () => {
      promoted = await this.masterPort()
      return promoted !== old && await ask(promoted, serverPassword, async (c) => (await c.role())[0] === 'master')
    })
    return promoted
  }

  /** A client to the current master (the test's own, to look at keys). */
  async onMaster<T>(question: (client: Redis) => Promise<T>): Promise<T> {
    return ask(await this.masterPort(), serverPassword, question)
  }

  stop(): Promise<void> {
    return this.processes.stop()
  }
}

export class ClusterTopology {
  private constructor(private readonly processes: Processes, readonly ports: number[]) {}

  /** `masters` masters with one replica each, every slot covered and every replica in sync. */
  static async start(masters = 3): Promise<ClusterTopology> {
    const processes = new Processes()
    const ports = await Promise.all(Array.from({ length: masters * 2 }, freePort))
    try {
      await Promise.all(ports.map((port) => processes.server(port, [
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', String(downAfterMs),
      ])))
      await promisify(execFile)('redis-cli', ['-a', serverPassword, '--no-auth-warning', '--cluster', 'create',
        ...ports.map((port) => `${host}:${port}`), '--cluster-replicas', '1', '--cluster-yes'])
      for (const port of ports) {
        await until(`node ${port} to see the whole cluster`, () => ask(port, serverPassword, async (c) => {
          const info = await c.call('CLUSTER', 'INFO') as string
          const replication = await c.info('replication')
          return infoField(info, 'cluster_state') === 'ok' && infoField(info, 'cluster_known_nodes') === String(ports.length)
            && (infoField(replication, 'role') === 'master' || infoField(replication, 'master_link_status') === 'up')
        }))
      }
    } catch (err) {
      await processes.stop()
      throw err
    }
    return new ClusterTopology(processes, ports)
  }

  get connection(): RedisConnection {
    return { cluster: { nodes: [{ host, port: this.ports[0] as number }] }, password: serverPassword }
  }

  private live(): number {
    return this.ports[0] as number
  }

  /** The port of the master that holds `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    return ask(this.live(), serverPassword, async (c) => {
      const slot = await c.call('CLUSTER', 'KEYSLOT', key) as number
      const ranges = await c.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number, ...unknown[]]]>
      const range = ranges.find(([from, to]) => from <= slot && slot <= to)
      if (!range) throw new Error(`slot ${slot} is not covered`)
      return range[2][1]
    })
  }

  /** The slot Redis Cluster gives `key`. */
  async slotOf(key: string): Promise<number> {
    return ask(this.live(), serverPassword, async (c) => c.call('CLUSTER', 'KEYSLOT', key) as Promise<number>)
  }

  /** Kills the master holding `key`; resolves once its replica has taken its slots over and the cluster is ok. */
  async failOver(key: string): Promise<number> {
    const old = await this.masterOf(key)
    await this.processes.kill(old)
    this.ports.splice(this.ports.indexOf(old), 1)
    let promoted = old
    await until('the replica to take the slots over', async () => {
      promoted = await this.masterOf(key)
      const info = await ask(promoted, serverPassword, async (c) => c.call('CLUSTER', 'INFO') as Promise<string>)
      return promoted !== old && infoField(info, 'cluster_state') === 'ok'
    })
    return promoted
  }

  /** A client to the master holding `key` (the test's own, to look at it). */
  async onMasterOf<T>(key: string, question: (client: Redis) => Promise<T>): Promise<T> {
    return ask(await this.masterOf(key), serverPassword, question)
  }

  stop(): Promise<void> {
    return this.processes.stop()
  }
}

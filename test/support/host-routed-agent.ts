// The recipe README's "Pointing an SDK at the broker" gives for an SDK that calls fixed
// https:// hosts through one `https.Agent` (amazon-sp-api's `https_proxy_agent`): the agent
// opens each connection by host name, so the LWA host goes to the broker and the rest where
// the test says (the SP-API emulator). A host with no route fails the request: a test never
// reaches the internet. Node's agent pools connections per host, so the routes never mix.
import type { RequestOptions } from 'node:http'
import { Agent, type AgentOptions } from 'node:https'
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'

export class HostRoutedAgent extends Agent {
  /**
   * `routes`: host name -> a plain-HTTP loopback URL (the broker, an emulator). `opened`: every
   * host a connection was opened for, in order; agents made per request (see global-agent.ts) share one.
   */
  constructor(
    private readonly routes: Readonly<Record<string, string>>,
    options: AgentOptions = {},
    readonly opened: string[] = [],
  ) {
    super(options)
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void):
    Duplex | null | undefined {
    const host = options.host ?? ''
    this.opened.push(host)
    const target = this.routes[host]
    if (target === undefined) {
      // Node's agent takes the error through the callback when it passes one, else from a throw.
      const err = new Error(`HostRoutedAgent: no route for ${host}`)
      if (!callback) throw err
      callback(err, undefined as unknown as Duplex)
      return undefined
    }
    const { hostname, port } = new URL(target)
    return connect(Number(port), hostname)
  }
}

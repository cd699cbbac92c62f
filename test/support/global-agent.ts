// The recipe for SDKs whose LWA request names no agent at all (the official SP-API SDK's
// superagent call, @sp-api-sdk/auth's axios instance): Node's documented default agent,
// `https.globalAgent`, replaced by a host-routed one for the test and put back after it.
// superagent passes `agent: false`, and Node then builds `new (globalAgent.constructor)()` for
// each request, so the routes live in the class, not in the instance.
import https from 'node:https'
import type { AgentOptions } from 'node:https'
import { HostRoutedAgent } from './host-routed-agent.js'

type Test = Parameters<Parameters<typeof import('tap').test>[0]>[0]

/** Routes every default-agent https request by host until the test ends; returns the hosts opened. */
export function routeGlobalAgent(t: Test, routes: Readonly<Record<string, string>>): string[] {
  const opened: string[] = []
  class RoutedGlobalAgent extends HostRoutedAgent {
    constructor(options: AgentOptions = {}) {
      super(routes, options, opened)
    }
  }
  const previous = https.globalAgent
  // keepAlive as Node's own global agent has it, so a broker restart meets pooled sockets.
  https.globalAgent = new RoutedGlobalAgent({ keepAlive: true })
  t.teardown(() => {
    https.globalAgent.destroy()
    https.globalAgent = previous
  })
  return opened
}

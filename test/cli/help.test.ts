import t from 'tap'
import { cli } from '../support/run-cli.js'

/** The CLI as operators run it, through tsx from the repo root. */
t.test('help: the command list on stdout, exit 0', async (t) => {
  const res = await cli(['help'])
  t.equal(res.code, 0)
  t.equal(res.stderr, '')
  for (const name of ['check-config', 'token', 'mint-jwt', 'import-credentials', 'check-app-secret']) t.match(res.stdout, new RegExp(`^  ${name} `, 'm'))
})

t.test('help COMMAND and COMMAND --help: that command\'s usage on stdout, exit 0', async (t) => {
  t.match(await cli(['help', 'token']), { code: 0, stdout: /^Usage: lwa-broker token --url URL/ })
  t.match(await cli(['mint-jwt', '--help']), { code: 0, stdout: /^Usage: lwa-broker mint-jwt/ })
  t.match(await cli(['check-app-secret', '--help']), { code: 0, stdout: /^Usage: lwa-broker check-app-secret --secret-id ID/ })
})

t.test('no command or an unknown one: the usage on stderr, exit 2', async (t) => {
  const none = await cli([])
  t.equal(none.code, 2)
  t.equal(none.stdout, '')
  t.match(none.stderr, /^Usage: lwa-broker <command>/)
  const unknown = await cli(['chek-config'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^lwa-broker: unknown command: chek-config\n[\s\S]*Usage: lwa-broker <command>/)
})

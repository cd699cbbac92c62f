// Every test of rdt.test.ts again, each request of one resource sent as the GET form
// (GET /restricted-data-token?credential=…&method=…&path=…): both forms answer alike.
process.env.RDT_FORM = 'get'
await import('./rdt.test.js')

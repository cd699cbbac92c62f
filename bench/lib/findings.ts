import type { Explanations } from './results.js'

/**
 * Why a target was missed and what was tried, keyed `<benchmark>.<figure key>`, as found by
 * profiling (bench/lib/profile-summary.ts over BENCH_CPU_PROF=1 profiles of the measured
 * rounds) and by the ablation benchmark (`npm run bench -- ablation`). BENCHMARKS.md quotes an
 * entry only while its figure misses its target (`npm run bench -- --report` rewrites it from
 * the text here); the numbers are from the runs named in each text, on the 2-core machine,
 * mostly CPU time per request in the server child (robust to noise, unlike req/s).
 */
const hotPathReason =
  'LATEST (2026-12-06 14:3x, e9f2cbe, bare core 0.95–0.97 busy on a noisy host: the bare route took 22.7–31.6 µs across its rounds): 31.8–43.1 µs ' +
  'of server CPU per warm GET /token, req/s ratio 0.769, p99 1.40×. Nothing on the request path changed; the image\'s new ' +
  '--heap-growing-percent=20 (see scale.rss) ran in both children, and two-round runs with and without it gave 32–36 against 33–38 µs (noise). ' +
  'BEFORE (2026-12-06, 209fe42, bare core 0.98 busy): 31.1–35.5 µs against 21.6–23.0 µs for the bare route, req/s ratio 0.687, p99 1.38×. ' +
  'BEFORE (2026-12-04 23:0x, a valid run at f2c52cd, bare core 0.96–0.98 busy): 33.5–40.8 µs of server CPU per warm GET /token against ' +
  '22.1–24.8 µs for the bare route on this (slower, noisier) host, req/s ratio 0.648, p99 1.49×. In the A/B run just before it, against 8374886 (this ' +
  'stop before the tick fix below): 31.8–34.6 against 37.6–43.2 µs, bare 20.6–22.0 (ratio 0.642, p99 1.72×). Where the remaining ≈11 µs go, from ' +
  'perf (`perf record -e cpu-clock -g` on the server child, run with --perf-basic-prof so JIT frames have names), broker minus bare per request: ' +
  'nothing above 1.2 µs. The kernel\'s wakeup of the load generator (sock_def_readable → _raw_spin_unlock_irqrestore) +1.2, context switches +0.7, ' +
  'megamorphic property loads and stores in Fastify\'s and Node\'s request objects +1.3, SHA-256 of the caller\'s JWT for the verified-token cache ' +
  'key +0.6, parsing the longer request (its 1 KB Authorization header) +0.6, the audit line\'s concatenation and copy +0.7, garbage collection ' +
  '+0.7, the request id\'s random UUID +0.2. 0.8 needs ≤ 27 µs in this run: the bare route plus 5 µs.'

const hotPathTried =
  'Each change measured, profile first, A/B in one run (BENCH_BASELINE). BEFORE (6baac44, the issue\'s 0.24): every log line written synchronously to ' +
  'the stdout pipe (38% of the broker in writev of log lines), the audit line through pino with 20 redaction paths, a redacting child logger per ' +
  'request, prom-client hashing label objects on every inc/observe, a streaming createHash per request, fast-json-stringify escaping the token twice. ' +
  'AFTER, in order: (1) src/observability/log-output.ts: one buffered asynchronous writer per target (flushed every logs.flushMs, on SIGTERM and at ' +
  'exit; logs.mode: sync for every line on disk before the answer); (2) the audit line built from known fields, its caller part cached per principal ' +
  'and its token part per token; (3) the request logger made only when something is logged; (4) a one-shot crypto.hash, and a JWT verified before ' +
  'recognised without a promise (a callback guard hook); policy decided once per principal; (5) the answer\'s JSON made once per token; (6) a cached ' +
  'token issued and answered in the guard\'s turn (−17 µs); (7) lines handed to sonic-boom as 32 KiB chunks (it measured its whole pending text on ' +
  'every line: 6.4% in writeString) and the per-request counters as plain-number tallies (−12 µs against 1724db7 together, on the slower host); ' +
  '(8) 2026-12-03 19:2x, this host: without Redis the caller rate limit is a synchronous fixed window (src/http/guards/fixed-windows.ts) instead of ' +
  '@fastify/rate-limit\'s async hook, which awaited the key, the limit and the store on every request: 39.4–40.1 → 32.1–36.5 µs in one run (the plugin ' +
  'still counts with Redis, across replicas); (9) the duration histogram a tally too (src/observability/tallies.ts; prom-client\'s observe validated and ' +
  'hashed its labels: 1.7% + 0.3%) and the Bearer header cut without a regular expression (1.4%): 30.5–32.3 → 27.4–28.5 µs in one run. Not done: a ' +
  'counter-based request id instead of a random UUID (0.6%), and dropping the x-ratelimit-* headers (≈1%), which callers may read. ' +
  '(10) 2026-12-04: the verified-token cache moves an entry to the young end only once it is in the older half, not with a delete and an insert per ' +
  'hit: 22.5–24.1 → 21.0–23.1 µs in one run; since 8374886 it only marks a hit (second-chance eviction). (11) 2026-12-04, the biggest since (6): ' +
  'Node\'s process.nextTick builds each tick object with a literal of two symbol keys, and in the broker that literal\'s inline caches were ' +
  'megamorphic: V8\'s %DebugPrint(process.nextTick) (--allow-natives-syntax) after load showed three of its four DefineKeyedOwnPropertyInLiteral ' +
  'slots MEGAMORPHIC in the broker and MONOMORPHIC in the bare route, and perf put ≈7% of the broker\'s samples in V8\'s runtime building them ' +
  '(Runtime_DefineKeyedOwnPropertyInLiteral, map transitions, MigrateToMap: ≈3 µs per request over a request\'s ten or so ticks), none of the bare ' +
  'route\'s. A 15-line script reproduces it: ticks with full GCs between them while no tick object is alive (V8 then drops their hidden classes, ' +
  'and the next ticks make new ones). src/http/tick-shape.ts keeps one tick object alive from the first module src/main.ts loads (the benchmark\'s ' +
  'server child loads it first too): 37.6–43.2 → 31.8–34.6 µs per request in one A/B run. Kept from createBroker it was too late (no change in an ' +
  'A/B run: the child\'s IPC and module loading had already left the caches megamorphic, and they never go back). How much of this production paid: ' +
  'the benchmark\'s child got there in its start-up, while `node dist/main.js` (as npm start and the image run it) with the small config stayed ' +
  'MONOMORPHIC through 15 s and 40 s of load even without the fix. So part of this gain is the benchmark measuring the broker as production runs ' +
  'it; a long-lived broker can still get there (any full GC that finds no tick alive, in an idle spell, counts, and it never recovers), which the ' +
  'kept tick rules out.'

const hotPathTail =
  'p99 follows CPU per request. The benchmark keeps 50 connections busy, so at saturation each request waits behind the others: latency ≈ ' +
  '50 / req/s, and the p50 ratio is about 1 / the req/s ratio (1.5 at 0.65). p99 ≤ 1.5× thus needs the req/s ratio above ≈0.67 before the ' +
  'broker\'s own tail (its garbage collection pauses) is counted. 2026-12-06 21:1x (a6acb6e, after the stop\'s memory work): 1.687× at 0.618 in ' +
  'the recorded run (bare 20.5–23.8 µs per request, broker 32.6–36.1), 1.778× at 0.607 in a full run 4 minutes before it on a busier machine ' +
  '(bare 23.2–32.2, broker 48.0–57.9) and 1.272× at 0.698 in a two-round run between them (bare 24.8–25.4, broker 34.0–39.9): the same code, ' +
  'so the spread is the machine\'s. Before it: 1.54× at 0.65 (2026-12-06 18:0x; the bare route took ' +
  '20.9–21.2 µs per request, against 22.7–31.6 µs in the run before, and the broker 31.0–34.4 µs, within the 31.8–43.1 µs of before: this ' +
  'stop changed no per-request work but three string joins and a map lookup in the audit line), 1.78× at 0.667 in a rerun whose first round was not ' +
  'saturated (not recorded); 1.40× at 0.769 at 14:3x, 1.38× at 0.687 earlier that day; 1.58× and 1.94× in two-round runs the same hour; before it 1.49×, 1.72× in the A/B run before it, at req/s ratios of ' +
  '0.648 and 0.642; 1.43–1.63× at the previous stop, 2.4× before it, 2.9–3.0× when the issue was filed. '

const scaleRateReason =
  'LATEST (2026-12-06 14:3x, e9f2cbe, a noisy host: the small broker took 37.7–52 µs across its rounds): 54.8–71.6 µs per request for the ' +
  'large broker, ratio 0.657; 0.62 and 0.72 in one-round runs the same hour. Nothing on the request path changed. ' +
  'BEFORE (2026-12-06, 209fe42): 44.1–48.7 µs per request for the large broker against 30.2–32.4 µs for the small one, ratio 0.69 ' +
  '(0.614 in the run before it at the same commit, whose old generation grew to 189 MB during the load, see scale.rss). ' +
  'BEFORE (2026-12-04 23:0x, f2c52cd, a valid run): 54.2–59.3 µs of CPU per request for 10,000 credentials and 10,000 callers against ' +
  '34.5–39.3 µs for benchmark 1\'s broker, req/s ratio 0.668 (0.636 and 0.756 in the two runs before it at the same commit; this stop began at ' +
  '0.59–0.64: 57–62 against 35–38 µs). The tick fix (see hot-path) made both brokers cheaper by about as much, so the same gap weighs a little more. ' +
  'Per request, large minus small (perf, one run at f2c52cd, +24 µs in that run): the kernel\'s wakeup of the load generator +4.4 (the same bytes ' +
  'as for the small broker: a slower server leaves the load generator asleep more often, and waking it costs an interrupt, so this part grows with ' +
  'the rest), probes of 10,000-entry maps that miss the CPU\'s cache +1.6 (the token cache, the verified-token cache), the policy\'s check of the ' +
  'credential\'s name against the team rule\'s glob +1.0, the caller\'s rate-limit rule +0.8, the token cache entry +0.6, zeroing fresh pages ' +
  '+1.0 and scavenges +1.2 (a bigger heap to keep). Of what was measured before this stop, the large broker with a single caller cost 40–45 µs ' +
  'against 36–39 for the small one: two thirds of the gap is touching 10,000 callers\' and credentials\' state, one third holding it.'

const scaleRateTried =
  'Fixed on the way: the benchmark\'s 10,000 callers all came from 127.0.0.1 and ran into the per-address budget of signature checks added by the hardening ' +
  'issue (rateLimit.verificationsPerAddress: 69,489 answers were 429 in the first run of this session); the fixture now sets it as it sets the other limits. ' +
  'Per-request work that scaled with the number of callers or credentials is gone (policy decided once per principal, the rate-limit key made once per caller, ' +
  'per-request series as tallies). 2026-12-04, earlier: a token\'s answer template, audit part and issued tally, and a caller\'s applicable rules, ' +
  'rate-limit key and audit text, live in a memo on the object the request already holds (src/memo.ts): 34.8–39.4 → 32.2–36.2 µs (0.571 → 0.648). ' +
  'This stop: (1) every cached token had a hidden class of its own: IssuedToken was a spread copy of the token with more fields, which V8 gives a new ' +
  'class per object (a heap snapshot: 9,996 classes for 10,000 tokens), so every read of a token\'s field on the hot path was megamorphic and missed ' +
  'V8\'s own lookup cache (LookupIterator in the profile). Built field by field now, and the cache holds the IssuedToken itself, found with one lookup ' +
  '(no loader map, no WeakMap), its hit tally kept in its memo: 57–62 → 52–55 µs (0.59–0.64 → 0.684; test/tokens/hidden-classes.test.ts checks ' +
  'tokens and callers share one class). (2) The caller\'s rate-limit window kept in its memo, callers the same rules apply to sharing one record of ' +
  'them, the verified-token cache marking a hit instead of moving it: about −1 µs, inside the noise of one run. Not done: the policy\'s decision for ' +
  'the last credential a caller asked for kept with the caller (the glob check, ≈1 µs); one record per credential holding its token, catalogue entry ' +
  'and tallies.'

const scaleRssReason =
  'WHERE IT STANDS (2026-12-06 21:1x, a6acb6e): highest sample 144.2 MB, the target met (ready 117.0, after prewarm and a scrape 128.0, under ' +
  'load 144.2 with 69.6 MB of heap used in 79.6, settled 138.0 with 58.4 MB live in 71.6); one-round runs during the work 147.1, 144.9, 140.9 MB. ' +
  'Live heap after the load 64.7 → 58.4 MB, each step from a heap snapshot: one loader for the token cache (no closure, context and map entry ' +
  'per credential), answer templates shared by every token of an API whose slots read the token\'s own strings per answer (each token had ' +
  'kept a 150-byte piece with its expiry and name, and a slots array), audit lines joined per line from the token\'s own name and expiry and ' +
  'a fingerprint (the memo had kept two joined texts), flat strings where a rope or a slice had been kept (fingerprints kept a slice of ' +
  'their 64-character hex, rate-limit keys and config strings were ropes), and each memo a slot of its object rather than a property array. ' +
  'BEFORE (2026-12-06 18:0x): highest sample 159.6 MB (ready 118.8, after prewarm and a scrape 139.0, under load ' +
  '159.5 with 67.3 MB of heap used in 87.1 and 11.1 MB external, settled 159.6 with 64.7 MB live in 78.3); one-round runs of the same code ' +
  '151.0 and 155.7 MB. The live heap after the load fell 72.6 → 64.7 MB: a verified caller keeps only the claims the policy reads (none for ' +
  'rules on subjects; ≈3 MB of JWT payloads at 10,000 callers), the tallies\' first label is the map\'s key instead of a node (40,000 nodes, ' +
  '1.8 MB), the audit line\'s per-token part keeps only what differs per token and the credential\'s own name instead of a slice of the ' +
  'request URL (which kept every URL alive), the issuer\'s part of the caller fragment is one string per issuer, the answers share their ' +
  'constant pieces, and the config keeps each repeated string once (regions, apps\' secret ids). The RSS above it is the same as before: ' +
  'Node with the modules ≈100 MB, V8\'s headroom and young generation; the spread between runs (151–160 MB for one live heap) is the old ' +
  'generation\'s committed size when the sample is taken. BEFORE (2026-12-06 14:3x, e9f2cbe): highest sample 162.5 MB (ready 119.6, after prewarm and a scrape 136.0, under load 162.5 with ' +
  '76.5 MB of heap used in 95.1 and 11.1 MB external, settled 162.5 with 72.6 MB live in 86.8); one-round runs at the same commit 157.9 and 158.0 MB. ' +
  'The old generation can no longer reach 2.4× its live heap (the image runs node --heap-growing-percent=20), so the runs no longer split into ' +
  '≈165 and ≈240–270 MB: across six runs with it the under-load heap was 91–95 MB committed for the same 72.6 MB live. What is left above ' +
  '150 MB: Node with the broker\'s modules ≈100 MB (the small broker settles at 103–107 MB with 28 MB live), the 44 MB of live heap that 10,000 ' +
  'credentials and 10,000 callers add, and the 20% of headroom and the 12 MB young generation on top of it. A heap snapshot after the load says ' +
  'where the 44 MB are (per credential and caller): strings 26 MB in all (cached access tokens ≈5.7 MB, the audit line\'s per-token and per-caller ' +
  'fragments ≈4.7 MB, the answer templates\' pieces ≈2.4 MB, secret ids, subjects and issuers), 80,000 metric tree nodes ≈3.7 MB, the JWT claims ' +
  'the policy may read ≈2 MB, the token cache\'s entries and their load closures ≈1.2 MB, the maps\' hash tables ≈5 MB. ' +
  'BEFORE (2026-12-06, 209fe42; /metrics now scraped over HTTP after the prewarm and after the load, as Prometheus would): highest ' +
  'sample 167.4 MB (ready 137.1, after prewarm and a scrape 157.9, under load 167.4 with 83.8 MB of heap used in 94.8, settled 158.7 with 72.7 MB ' +
  'live); the run before it at the same commit sampled 268.1 MB under load with 176.5 MB of heap used in 188.8 and the same live heap after GC ' +
  '(73.6 MB), and 261 MB settled with the heap back to 99.8 MB committed: the old generation again grew to 2.4× the live heap before V8 ' +
  'collected it, and the process did not hand the pages back. That bimodality (≈165 or ≈240–270 MB, same code, same live heap) is the largest ' +
  'single figure left; V8 decides it (the old generation\'s growing factor), and the flags that bound it cost CPU (see tried). ' +
  'The rest: Node with the broker\'s modules is ≈100 MB (the node binary\'s pages 42 MB, the config schema and ajv\'s code compiled from it ' +
  '≈15 MB of RSS at import), 10,000 credentials\' state ≈27 MB live and 10,000 callers\' ≈21 MB more, and ≈15 MB of external ' +
  'memory outside ArrayBuffers that the small broker does not have (not yet explained). EARLIER (2026-12-04 23:0x, f2c52cd): highest sample 171.5 MB (ready 171.5 MB, after prewarm 154.8 MB, under load 168.7 MB; 78 MB live ' +
  'after the load, 85 MB at d0db232: the tokens\' 9,996 hidden classes and their descriptors were ≈5 MB of it). The two runs before it at the same ' +
  'commit sampled 232.2 and 234.4 MB under load with the same live heap after GC (78.9 MB). Two more runs with the child\'s memoryUsage() logged at ' +
  'the end of the load: 179 MB with 88 MB of heap used in 107 MB, and 240 MB with 170 MB used in 182 MB: in the high runs the old generation had ' +
  'grown to twice the live heap with garbage promoted during the load, and V8 keeps the pages after collecting it. Suspected, not confirmed: log ' +
  'lines held while the pipe is full (the benchmark\'s parent drains the child\'s stdout on the same core as its load generator, so it reads late ' +
  'when the load is heaviest; a container runtime reads on its own). Sampled every 50 ms in two later runs, sonic-boom\'s pending text never ' +
  'passed 100 KB, but neither run had a high sample (168.5 and 169.9 MB), so the suspect is neither confirmed nor cleared. At d0db232: 181.2 MB ' +
  '(ready 178 MB, after prewarm 170 MB, under load 181 MB); ' +
  'benchmark 1\'s broker 114 MB with 28 MB live. /proc/<pid>/smaps of the large child (2026-12-04): the node binary\'s code pages are 42 MB of it, the V8 ' +
  'heap 81 MB committed with 38 MB used at ready (the heap that parsed and validated 10,000 credentials and read 10,000 secrets is still committed), ' +
  'malloc arenas 10–23 MB. Under load the old generation grows to ≈1.3× the live heap before V8 collects it. (2026-12-03 20:07, b986a50: 179.6 MB.) ' +
  'EARLIER (49261fe to eb651f1): highest sample 198–218 MB across runs (ready 150 MB, after prewarm 155 MB, under load 197–218 MB; 90.6 MB of live ' +
  'heap in 119–123 MB); benchmark 1\'s ' +
  'broker in the same run: 101–113 MB with 25.8 MB live. Before: 246 MB (the issue\'s quiet run) and 345 MB in the last report. Node with the broker\'s ' +
  'modules (Fastify, ajv, pino, prom-client, jose, undici, the AWS SDK) is ≈100 MB before any credential exists, which leaves 50 MB for 20,000 objects of state. ' +
  'A heap snapshot of the large broker after the load (BENCH_HEAP_SNAPSHOT=1 npm run bench -- scale; npx tsx bench/lib/heap-summary.ts) says what they cost: ' +
  '≈3.0 KB per credential before any caller (56.1 − 25.8 MB after the prewarm, full GC: its config, secret values, the cached token, the cache entry) and ' +
  '≈3.4 KB more per credential and caller once served (90.6 − 56.1 MB): prom-client\'s series per credential (tokens issued, cache hits and misses: label ' +
  'objects, hash strings and bound children ≈ 1 KB), the verified-token cache entry with the JWT\'s claims (≈0.6 KB), the rate limiter\'s entry, the ' +
  'policy and audit memos, the IssuedToken and its answer template, and the hash tables of all these maps (8.7 MB of arrays).'

const scaleRssTried =
  'Late on 2026-12-06 (see where it stands): 64.7 → 58.4 MB live, RSS 144–147 MB. Left: ms timestamps stored as heap numbers (80,000 of ' +
  '16 bytes), the secret records\' copies of their ids, the tallies\' list nodes (50,000, 2.3 MB). Measured and not worth it: ' +
  'TypeBox (9 MB of RSS to load, of which @sinclair/typebox 0.34 would save 2.7), ICU (1 MB of node\'s binary touched). ' +
  'Earlier that evening, from a heap snapshot after the load: the live heap\'s per-caller and per-credential objects, cut where ' +
  'nothing needs them (72.6 → 64.7 MB live). Later the same day (e9f2cbe), one-round runs: the under-load sample held 14.6 MB of ArrayBuffers where the small broker held 0.4 MB: the ' +
  'scrape\'s 5.5 MB text joined from its chunks into one more buffer, with the chunks not yet collected. /metrics is now sent as the chunks it ' +
  'was written in (external under load 18.2 → 11.1 MB). V8\'s --heap-growing-percent, which NODE_OPTIONS refuses, is on the image\'s CMD (the ' +
  'benchmarks read the CMD\'s flags too): with 20, 169.7/166.2/162.8 MB before the chunked scrape, 157.9/158.0/162.5 after it, against 183.7–194.3 ' +
  'without it the same hour; 10 gave 165.6 MB, no better. --max-semi-space-size=2 on top: 154.9 MB, but the hot path\'s broker took 38.8–40.1 ' +
  'µs per request against 32–36 at 4, a CPU cost the memory does not pay for; not kept. ' +
  'Earlier that day, each measured in one-round runs with the scrapes in: a /metrics scrape (which the benchmark never made) raised the ' +
  'large broker\'s RSS from ≈155 to 222–238 MB (prom-client formats each of ≈100,000 series through a labels object and arrays: 92 MB allocated ' +
  'per scrape); the per-credential series are now a tree of plain numbers and the per-credential gauges are computed at scrape time, written as ' +
  'bytes into one chunked buffer (src/observability/exposition.ts, the same text as prom-client\'s, tested), kept for metricsCacheSeconds only. ' +
  'The file secrets backend read JSON with the yaml library, which builds each double-quoted scalar a character at a time (12 KB of rope per ' +
  'refresh token, 190 MB of heap for 10,000 secrets): JSON is now read by JSON.parse, ready 171 → 137 MB, start-up 2.5 → 1.5 s. The scrape ' +
  'over inject() made copies production does not (a Buffer and a string of 5.5 MB); it is an HTTP GET now. MALLOC_ARENA_MAX=2 in the image ' +
  '(≈6 MB). Together 206–250 → 167–175 MB in the runs without the old-generation growth. ' +
  'Earlier, measured in the same snapshot before each fix: each token\'s answer template was cut from its JSON with split(), whose pieces are slices that kept ' +
  'the whole 0.4 KB text alive (4.4 MB) — the pieces are copies now; the per-request series are tallies (src/observability/tallies.ts: a number ' +
  'and a label object per series instead of prom-client\'s bound children and hash strings); without Redis the rate limit\'s windows are a Map of ' +
  'two numbers per caller instead of the plugin\'s LRU. Earlier: the per-token answer kept two more copies of every token (JSON-escaped head and a headers tail: ≈11 MB for ' +
  '10,000 credentials) — the template now holds none (src/http/token-answer.ts); audit fragments kept as trees of concatenated strings (≈6 MB of ' +
  'ConsString objects) are joined once. The image caps V8\'s young generation (Dockerfile NODE_OPTIONS=--max-semi-space-size=4; the benchmarks run children ' +
  'with the image\'s flags): benchmark 1\'s broker under load 150 → 113–122 MB, with no CPU cost beyond the noise (ablation: v8-defaults −7.8 µs in one run, ' +
  '+ in others). Not done, each a trade: a switch to drop per-credential metric series for large fleets (a Prometheus-cardinality win), a ' +
  'smaller rateLimit.trackedCallers (a Principal that keeps only the claims the policy reads was done this stop). V8\'s --optimize-for-size (tried 2026-12-03 in one run): RSS 164.9 MB (ready 125 instead of 176), but 118–127 µs per request for the large ' +
  'broker instead of 45–48: not a trade a token service can make. --heap-growing-percent=20 (first tried 2026-12-04, one round): 180 MB then, ' +
  'when the scrape and the yaml reader still dominated; kept since 2026-12-06 (above). Reaching 150 MB ' +
  'with 10,000 of each needs about half the state per credential and caller, or a runtime lighter than Node with this module set.'

const queuedTimeout =
  'The LWA client\'s deadline (src/lwa/client.ts `post`: `signal: AbortSignal.timeout(timeoutMs)`) starts when the request is queued, not when it is sent, and the ' +
  'broker\'s LWA pool has 8 connections (src/broker.ts `lwaPool`). When more refreshes start at once than 8 × timeoutMs / LWA latency (here 8 × 2000 / 150 ≈ 100; ' +
  '≈ 266 with the default 5 s), the last ones in the queue run out of time — some after LWA has already received them — and `lwa.attempts` retries them: LWA is ' +
  'asked twice for those credentials and the connection is torn down (the profile shows `internalConnect` and `LwaError` during such bursts). On a quiet machine ' +
  'the same burst gives exactly one call per credential; on a busy one it does not.'

const catalogueRateReason =
  'A listing of 10,000 tagged secrets costs the broker 496–666 ms of CPU (100 ListSecrets pages: the SDK\'s deserialiser of ' +
  'SecretListEntry — tags, version stages, dates — is most of it, then HTTP and SigV4; the tag parse and the catalogue swap ' +
  'are ≈15 ms once unchanged secrets reuse their parse). The benchmark lists every 5 s so that CreateSecret-to-200 is quick ' +
  'to measure: that is 10–13% of a core taken from the hot path, matching the ratio (0.79–0.82×: 217–243 vs 167–182 µs per request; ' +
  'in the latest run the file broker\'s first round ran at 0.84 of a core, not saturated; its two saturated rounds give 0.80× each). ' +
  'At the default catalogue.intervalSeconds of 60 the same listing is about 1% of a core, which is inside this benchmark\'s noise ' +
  'but was not measured here.'

const catalogueRateTried =
  'Measured per listing in process (CPU profile): the SDK\'s logger middleware built a redacted copy of every answer for a ' +
  'logger that does nothing (≈35% of the SDK time) — the broker\'s Secrets Manager clients now have a logger without `info`, ' +
  'so the copy is never made (920 → 666 ms per listing, 0.726 → 0.792×); each secret\'s tags are parsed again only when they ' +
  'changed, and an unchanged entry is the same object, so the swap does not deep-compare 10,000 entries. Not done: a leaner ' +
  'ListSecrets client (raw JSON over the SDK\'s signer, skipping the schema deserialiser), or listing less often with peers ' +
  'told of changes through Redis (which the broker already does).'

const rdtRateReason =
  'The judged figure is the GET form (one resource in the query): 0.917–0.925 in two valid runs on 2026-12-03. The POST form, ' +
  'context since then: (0138a6a + the tallied counters, a valid run: both cores 0.98–0.99 busy, load average 0.9): a warm ' +
  'RDT costs 78 µs of server CPU per request against 62 µs for the same caller\'s warm GET /token in the same broker process (1.26×), ' +
  'req/s ratio 0.79–0.80 in two runs (0.73 before this session). Half of the remaining 16 µs is what a POST with a JSON body ' +
  'costs in Fastify itself: a bare Fastify 5 server with the same closed body schema, measured on this machine as the rdt benchmark ' +
  'runs (autocannon, 50 connections, one pinned core each, server CPU from /proc), spends 24–26 µs per POST against 17–18 µs per GET ' +
  'of the same answer (+8 µs: the body stream\'s listeners and ticks, the parse, the validation). 0.9× needs the RDT within 7 µs of ' +
  'GET /token: less than Fastify\'s POST alone costs over a GET.'

const rdtRateTried =
  'Done, each measured: the rdt.issued audit line built like token.issued (caller part per principal, RDT part once per cached RDT); ' +
  'the answer\'s JSON made once per RDT and filled in with expires_in; the canonical set text as the local cache key (hashed only for ' +
  'Redis); a cached RDT issued and answered in the guard\'s turn without a promise (Exchange.issueRestrictedCached, ' +
  'RestrictedDataTokens.cachedRdt, a non-async route handler), and a one-resource set made without a map and a sort: 0.73 to ' +
  '0.80 in a valid run. Not done: JSON.parse instead of secure-json-parse (its two regular expressions cost about 0.3 µs on a 123-byte ' +
  'body). What reached 0.9: a GET form for the common one-resource case (GET /restricted-data-token?credential=…&method=…&' +
  'path=…&dataElements=…), which skips the body entirely, its contract its own and the whole RDT test catalogue run over both ' +
  'forms (test/rdt/rdt-get.test.ts).'

export const findings: Explanations = {
  'rdt.rpsRatio': { reason: rdtRateReason, tried: rdtRateTried },
  'catalogue.rpsRatio': { reason: catalogueRateReason, tried: catalogueRateTried },
  'catalogue.rss': {
    reason: 'The same state as the scale benchmark (10,007 credentials, 10,007 tokens, 100 rules): 64 MB of live heap after GC, as ' +
      'there; the highest sample (221–298 MB across this session\'s four runs) is 10–50 MB above the scale benchmark\'s, the ' +
      'garbage of a 10,000-secret listing every 5 s (100 answers of ≈100 KB and their parsed objects) that V8 collects but does ' +
      'not hand back at once. See scale.rss for what the state costs and what was tried.',
    tried: 'See scale.rss. Specific to discovery: the parse of unchanged tags is reused rather than rebuilt (less garbage per ' +
      'listing). Not done: a streaming page parser; a longer interval (the default is 60 s) makes the garbage rarer, not smaller.',
  },
  'stampede.manyCredentialsLwaCalls': {
    reason: queuedTimeout,
    tried: 'Counted by the LWA emulator (every answer was 200, so the extra calls are client-side retries). Fix, either or both: time only the exchange (undici ' +
      '`headersTimeout`/`bodyTimeout` on the request, which start once it is dispatched, instead of an AbortSignal created before queueing), and/or bound concurrent ' +
      'LWA calls to the pool size with a small semaphore in TokenSource so queued refreshes wait without a running deadline; a bigger pool (e.g. 64) also shortens ' +
      'the queue ~8×. Expected: exactly 100 calls, and time until all served ≈ ⌈100/connections⌉ × latency.',
  },
  'hot-path.rpsRatio': { reason: hotPathReason, tried: hotPathTried },
  'hot-path.p99Ratio': {
    reason: hotPathTail + hotPathReason,
    tried: hotPathTried,
  },
  'scale.rpsRatio': { reason: scaleRateReason, tried: scaleRateTried },
  'scale.rss': { reason: scaleRssReason, tried: scaleRssTried },
  'scale.warmLwaCalls': {
    reason: 'The prewarm (src/tokens/token-service.ts `prewarm`) starts all 10,000 refreshes at once. ' + queuedTimeout +
      ' At LWA\'s real latency (~150 ms) the queue for 10,000 credentials is ~190 s, so most prewarm calls would time out and be retried.',
    tried: 'Counted by the LWA emulator during the prewarm (every answer was 200). Fix: bound prewarm concurrency to the pool size, and the timeout fix of the stampede benchmark. Expected: exactly one call per credential.',
  },
  'scale.rateLimitMemory': {
    reason: 'src/routes/caller-guard.ts registers @fastify/rate-limit without a `cache` size, so its in-memory store keeps only the 5,000 most recent keys. With more active ' +
      'callers than that, a caller\'s count is evicted before its next request and starts again at 1: per-caller limits are not enforced at all at this scale ' +
      '(and every request allocates a new entry, see the req/s ratio).',
    tried: 'Probed after the load: one more request as caller 0 and its x-ratelimit-remaining. Fix: pass `cache:` (a setting, default ≥ 100,000 keys; ~100 bytes each).',
  },
}

/** Findings worth knowing that are not a missed target (BENCHMARKS.md, "Other findings"). */
export const observations: string[] = [
  'Benchmark 5, memory at scale: the 150 MB target is met (144.2 MB recorded). ' + scaleRssReason + ' HOW IT GOT HERE: ' + scaleRssTried,
  'Benchmark 1, the hot path: the req/s target passes; p99 ≤ 1.5× passes or misses with the machine; the 0.8× stretch goal does not. ' + hotPathTail + hotPathReason + ' HOW IT GOT HERE: ' + hotPathTried,
  'What the load benchmarks measure now: each server child\'s stdout and stderr are pipes the parent drains, as a container runtime reads a container\'s ' +
  '(never /dev/null), and the broker logs at info with its audit log on stdout, as shipped; a run whose bare route\'s core was less than 0.9 busy is marked ' +
  'invalid instead of passing (the 0.62× of an earlier report came from such a run). Each round also reports the kernel\'s share of the CPU per request.',
  'FIXED: start-up with a large file secrets backend ran out of memory (10,000 concurrent reads each parsed the whole file); `FileSecretStore` now shares one ' +
  'read and parse among concurrent callers. (The scale benchmark still primes one token before the readiness check; it no longer needs to.)',
  'FIXED: cold start across many credentials was bounded by an 8-connection LWA pool whose queued requests timed out and were repeated (stampede: 101–108 calls ' +
  'for 100 credentials); LWA timeouts now run from when a request is on a socket and the pool has 32 connections: exactly 100 calls, all served in ~10× the LWA latency.',
  'The verified-token cache (`auth.verifiedTokenCache.maxEntries`, default 10,000) is an LRU: with more distinct live JWTs than entries, cycling callers evict each ' +
  'other and the hit rate drops to zero, so every request pays a signature check (distinct-callers benchmark: ≈ +50 µs per request for RS256, ≈ +70 µs for ES256, ' +
  '×1.6–2.1 in req/s). Size it above the number of callers × JWTs each holds (Kubernetes rotates projected tokens, so 2 per pod), or make the default larger; ' +
  'an entry is ~0.5 KB.',
  'Steady state is exactly on schedule: over 24 simulated hours every refresh happened inside its jittered refresh-ahead window, and ' +
  'Secrets Manager saw one GetSecretValue per secret and one DescribeSecret per refresh (the 300 s re-check interval is shorter than the ~30 min refresh interval, ' +
  'so each refresh re-checks).',
]

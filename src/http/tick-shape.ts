import { executionAsyncResource } from 'node:async_hooks'

let kept: object | undefined

/**
 * This module keeps one of Node's `process.nextTick` objects alive for the life of the process, so V8 keeps
 * their hidden classes. A request goes through about ten ticks (streams end, write, resume), each
 * a literal with two symbol keys. When a full GC finds no tick object alive it drops their classes;
 * the next tick makes new ones, and after a few such GCs the literal's inline caches are
 * megamorphic for good: every tick object is then built by V8's runtime, key by key, 3–4 µs per
 * warm GET /token (BENCHMARKS.md, the hot path). The benchmark's broker process got there in its
 * start-up; any process can, in an idle spell with full GCs, and none recovers. Inside a tick's
 * callback the current async resource is the tick object itself. Done as the module loads, which
 * src/main.ts and src/http/broker.ts import first: once megamorphic, the caches stay so, and
 * loading the other modules and parsing a large config take full GCs of their own.
 */
process.nextTick(() => { kept = executionAsyncResource() })

/** The tick object kept, once the tick has run: for the test that it is one. */
export const keptTick = (): object | undefined => kept

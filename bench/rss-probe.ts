/** Child process for bench/hash.ts: hashes a model and prints its own peak RSS. */
import { hashModel } from '../src/artifact/hash.ts';

const [dir, method] = process.argv.slice(2);
const t = process.hrtime.bigint();
await hashModel(dir!, { method: method as 'files' | 'shards' });
const seconds = Number(process.hrtime.bigint() - t) / 1e9;
// resourceUsage().maxRSS is in KiB and covers the worker threads (same process).
console.log(JSON.stringify({ maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), seconds: +seconds.toFixed(2) }));

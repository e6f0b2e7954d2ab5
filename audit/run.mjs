// Runs the GraphQL-over-HTTP server audits of graphql-http (the npm
// package, pinned in package.json) against a running tasks API server.
//
//   node audit/run.mjs URL ACCESS_KEY SECRET_KEY
//   AUDIT_URL=... AUDIT_ACCESS_KEY=... AUDIT_SECRET_KEY=... node audit/run.mjs
//
// URL is the GraphQL endpoint (http://127.0.0.1:8080/query); every request
// carries the key in the x-ysuite-access-key and x-ysuite-secret-key headers.
// Prints one line per audit, then "N passed, M failed" alone on the last
// line. Exits 1 if any MUST or SHOULD audit fails (a failed MAY is reported
// but allowed), 2 on bad usage.
import { serverAudits } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 10_000;

const [
  url = process.env.AUDIT_URL,
  accessKey = process.env.AUDIT_ACCESS_KEY,
  secretKey = process.env.AUDIT_SECRET_KEY,
] = process.argv.slice(2);

if (!url || !accessKey || !secretKey) {
  console.error('usage: node audit/run.mjs URL ACCESS_KEY SECRET_KEY');
  console.error('   or: AUDIT_URL=... AUDIT_ACCESS_KEY=... AUDIT_SECRET_KEY=... node audit/run.mjs');
  process.exit(2);
}
try {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
} catch {
  console.error(`run.mjs: ${JSON.stringify(url)} is not an http(s) URL`);
  process.exit(2);
}

// fetchWithKey is fetch with the key headers added to every request, and a
// bound on how long any one request may take.
function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('x-ysuite-access-key', accessKey);
  headers.set('x-ysuite-secret-key', secretKey);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

const level = (name) => name.split(' ', 1)[0]; // MUST, SHOULD or MAY
const tally = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] }; // [passed, total]
let passed = 0;
let failed = 0;
let blocking = 0; // failed MUST and SHOULD audits

// One at a time, so that the output is in the suite's order.
for (const { id, name, fn } of serverAudits({ url, fetchFn: fetchWithKey })) {
  const lvl = level(name);
  let result;
  try {
    result = await fn();
  } catch (err) {
    // graphql-http throws only on fatal problems (no answer at all, say).
    result = { status: 'error', reason: `fatal: ${err?.message ?? err}` };
  }
  tally[lvl] ??= [0, 0];
  tally[lvl][1]++;
  if (result.status === 'ok') {
    passed++;
    tally[lvl][0]++;
    console.log(`PASS  ${id}  ${name}`);
    continue;
  }
  failed++;
  if (lvl === 'MUST' || lvl === 'SHOULD' || result.reason?.startsWith('fatal:')) blocking++;
  let detail = result.reason ?? 'failed';
  if (result.response) {
    let body = '';
    try {
      body = (await result.response.text()).slice(0, 300);
    } catch {
      // the audit already read the body
    }
    detail += ` (got ${result.response.status} ${result.response.headers.get('content-type') ?? ''}${body ? ` ${body}` : ''})`;
  }
  console.log(`FAIL  ${id}  ${name}: ${detail}`);
}

console.log(
  Object.entries(tally)
    .map(([lvl, [ok, total]]) => `${lvl} ${ok}/${total}`)
    .join(', '),
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(blocking > 0 ? 1 : 0);

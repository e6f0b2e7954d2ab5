// Whether the server has the change feed the tests are about: exits 1,
// naming each endpoint that is missing, so that a server without one fails
// clearly rather than by a run of timeouts.
import { baseURL, queryURL, streamURL, credentials } from './api.mjs';

const missing = [];

try {
  const controller = new AbortController();
  const res = await fetch(streamURL, { headers: { ...credentials, Accept: 'text/event-stream' }, signal: controller.signal });
  const type = res.headers.get('content-type') ?? '';
  controller.abort();
  if (res.status !== 200 || !type.startsWith('text/event-stream')) {
    missing.push(`GET /v1/tasks/changes/stream answered ${res.status} ${type}, not an event stream`);
  }
} catch (err) {
  missing.push(`GET /v1/tasks/changes/stream: ${err.message}`);
}

try {
  const res = await fetch(queryURL, {
    method: 'POST',
    headers: { ...credentials, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ __type(name: "Subscription") { fields { name } } }' }),
  });
  const body = await res.json();
  const fields = body?.data?.__type?.fields?.map((f) => f.name) ?? [];
  if (!fields.includes('taskChanged')) {
    missing.push(`GraphQL: no subscription taskChanged at /query (${JSON.stringify(body)})`);
  }
} catch (err) {
  missing.push(`GraphQL at /query: ${err.message}`);
}

if (missing.length) {
  console.error(`clients: the server at ${baseURL} lacks the change feed under test:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}

// GET /v1/tasks/changes/stream through the eventsource package, an
// EventSource with the standard's semantics (event types, lastEventId, a
// reconnect with Last-Event-ID after a dropped connection); its fetch
// option adds the key's headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import {
  streamURL, credentials, wrongCredentials,
  createTask, updateTask, deleteTask, headSeq, changesAfter, untilLive, startRelay, Received,
} from './api.mjs';

// open connects an EventSource to url, sending keys and extra headers with
// each of its requests, and collects its events of the three change types
// (and any untyped one, which should never come). requests holds the
// headers the EventSource itself set on each request it made.
function open(url, { keys = credentials, headers = {}, name = 'EventSource' } = {}) {
  const received = new Received(name);
  received.requests = [];
  received.errors = [];
  const es = new EventSource(url, {
    fetch: (input, init) => {
      received.requests.push({ ...init.headers });
      return fetch(input, { ...init, headers: { ...init.headers, ...keys, ...headers } });
    },
  });
  for (const type of ['created', 'updated', 'deleted', 'message']) {
    es.addEventListener(type, (event) => {
      received.push({ id: event.lastEventId, type: event.type, data: JSON.parse(event.data) });
    });
  }
  es.addEventListener('error', (event) => {
    received.errors.push({ code: event.code, message: event.message, readyState: es.readyState });
    received.wake();
  });
  received.es = es;
  return received;
}

function arrived(taskId, type) {
  return (items) => items.some((e) => e.data.activity_id === taskId && e.type === type);
}

// Each event as the stream should send it for a change listed by GET
// /v1/tasks/changes.
const asEvents = (changes) => changes.map((c) => ({ id: String(c.seq), type: c.type, data: c }));

test('each change is an event whose id is its seq, whose type is its type and whose data is the change as listed', async (t) => {
  const from = await headSeq();
  const received = open(`${streamURL}?after=${from}`);
  t.after(() => received.es.close());

  const task = await createTask({ title: 'File the expenses' });
  await updateTask(task.activity_id, { status: 2 });
  await deleteTask(task.activity_id);
  await received.until(arrived(task.activity_id, 'deleted'));

  const feed = await changesAfter(from);
  assert.deepEqual(received.items, asEvents(feed));
  assert.deepEqual(received.items.map((e) => [e.type, e.data.fields]), [
    ['created', []],
    ['updated', ['completed_at', 'status']],
    ['deleted', []],
  ]);
  assert.equal(received.items[1].data.task.status, 2);
  assert.equal(received.items[2].data.task, null);
  assert.deepEqual(received.errors, []);
});

test('a stream with neither after nor Last-Event-ID starts from now', async (t) => {
  await createTask({ title: 'Already recorded' });
  const before = await headSeq();
  const received = open(streamURL);
  t.after(() => received.es.close());

  const probes = await untilLive(received);
  const first = received.items[0];
  assert.ok(Number(first.id) > before, `the first event (${first.id}) is newer than the head (${before})`);
  assert.equal(first.type, 'created');
  assert.ok(probes.some((p) => p.activity_id === first.data.activity_id), 'the first event is of a task created after connecting');
});

test('after a dropped connection the EventSource reconnects by itself with Last-Event-ID and misses and repeats nothing', async (t) => {
  // The stream goes through a relay that can cut it: a network failure,
  // after which a standard EventSource reconnects on its own, sending the
  // id of the last event it received as Last-Event-ID.
  const relay = await startRelay();
  t.after(() => relay.close());
  const from = await headSeq();
  const received = open(`${relay.url}/v1/tasks/changes/stream?after=${from}`, { name: 'EventSource through a relay' });
  t.after(() => received.es.close());

  const a = await createTask({ title: 'Draft the agenda' });
  await updateTask(a.activity_id, { priority: 4 });
  await received.count(2);
  const lastBeforeCut = received.items[1].id;

  relay.cut();
  await received.until(() => received.errors.length > 0, 10_000, 'an error event for the cut');
  assert.equal(received.errors[0].readyState, EventSource.CONNECTING, 'the EventSource is reconnecting, not closed');
  // Changes while it is away.
  await updateTask(a.activity_id, { title: 'Draft the final agenda' });
  const b = await createTask({ title: 'Print the handouts' });
  await deleteTask(a.activity_id);
  relay.restore();

  await received.until(arrived(a.activity_id, 'deleted'), 15_000, 'the changes made while disconnected');
  const c = await createTask({ title: 'Collect the feedback' });
  await received.until(arrived(c.activity_id, 'created'));

  assert.deepEqual(received.items, asEvents(await changesAfter(from)));
  assert.deepEqual(received.items.map((e) => [e.type, e.data.activity_id]), [
    ['created', a.activity_id],
    ['updated', a.activity_id],
    ['updated', a.activity_id],
    ['created', b.activity_id],
    ['deleted', a.activity_id],
    ['created', c.activity_id],
  ]);
  assert.deepEqual(received.requests.map((h) => h['Last-Event-ID']), [undefined, lastBeforeCut]);
  assert.equal(received.es.readyState, EventSource.OPEN);
});

test('Last-Event-ID wins over after', async (t) => {
  const from = await headSeq();
  await createTask({ title: 'One' });
  await createTask({ title: 'Two' });
  await createTask({ title: 'Three' });
  const feed = await changesAfter(from);
  assert.equal(feed.length, 3);

  const received = open(`${streamURL}?after=${from}`, { headers: { 'Last-Event-ID': String(feed[1].seq) } });
  t.after(() => received.es.close());
  await received.count(1);
  const next = await createTask({ title: 'Four' });
  await received.until(arrived(next.activity_id, 'created'));

  assert.deepEqual(received.items, asEvents([feed[2], ...await changesAfter(feed[2].seq)]));
  assert.equal(received.items.length, 2);
});

async function refusal(url, keys) {
  const received = open(url, { keys });
  try {
    await received.until(() => received.errors.length > 0, 10_000, 'an error event');
    return received;
  } finally {
    received.es.close();
  }
}

test('wrong credentials are a 401, and the EventSource closes rather than retry', async () => {
  const received = await refusal(streamURL, wrongCredentials);
  assert.deepEqual(received.errors.map((e) => [e.code, e.readyState]), [[401, EventSource.CLOSED]]);
  assert.equal(received.items.length, 0);
  assert.equal(received.requests.length, 1);
});

test('an after that is not a seq is a 422, and the EventSource closes rather than retry', async () => {
  const received = await refusal(`${streamURL}?after=-1`, credentials);
  assert.deepEqual(received.errors.map((e) => [e.code, e.readyState]), [[422, EventSource.CLOSED]]);
  assert.equal(received.items.length, 0);
  assert.equal(received.requests.length, 1);
});

// Many readers of the change feed at once, through the reference clients,
// while writers change tasks through REST: every reader is shown the same
// changes, each once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { EventSource } from 'eventsource';
import {
  socketURL, streamURL, credentials,
  createTask, updateTask, deleteTask, headSeq, changesAfter, Received,
} from './api.mjs';

const subscribers = 50;
const eventSources = 5;
const writers = 5;
const rounds = 20; // each a create, a change and a delete: 5 × 20 × 3 = 300 writes

const taskChanged = 'subscription Changes($after: Seq) { taskChanged(after: $after) { seq type taskId } }';

function subscriber(i, from) {
  const received = new Received(`graphql-ws subscriber ${i}`);
  const connected = new Promise((resolve) => {
    received.client = createClient({
      url: socketURL,
      webSocketImpl: WebSocket,
      connectionParams: credentials,
      retryAttempts: 0,
      on: { connected: resolve },
    });
  });
  received.client.subscribe({ query: taskChanged, variables: { after: from } }, {
    next(result) {
      if (result.errors) received.fail(result.errors);
      else received.push(result.data.taskChanged.seq);
    },
    error(err) {
      received.fail(err);
    },
    complete() {},
  });
  received.ready = connected;
  received.close = () => received.client.dispose();
  return received;
}

function eventSource(i, from) {
  const received = new Received(`EventSource ${i}`);
  const es = new EventSource(`${streamURL}?after=${from}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...credentials } }),
  });
  for (const type of ['created', 'updated', 'deleted', 'message']) {
    es.addEventListener(type, (event) => received.push(Number(event.lastEventId)));
  }
  es.addEventListener('error', (event) => received.fail(new Error(`error event: ${event.code ?? ''} ${event.message ?? ''}`)));
  received.ready = new Promise((resolve) => es.addEventListener('open', resolve, { once: true }));
  received.close = () => es.close();
  return received;
}

test(`${subscribers} graphql-ws subscribers and ${eventSources} EventSource readers receive the same ${writers * rounds * 3} changes, each once, in order of seq`, { timeout: 90_000 }, async (t) => {
  const from = await headSeq();
  const readers = [
    ...Array.from({ length: subscribers }, (_, i) => subscriber(i, from)),
    ...Array.from({ length: eventSources }, (_, i) => eventSource(i, from)),
  ];
  t.after(() => Promise.all(readers.map((r) => r.close())));
  await Promise.all(readers.map((r) => r.ready));

  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let r = 0; r < rounds; r++) {
      const task = await createTask({ title: `Load ${w}.${r}` });
      await updateTask(task.activity_id, { title: `Load ${w}.${r}, changed` });
      await deleteTask(task.activity_id);
    }
  }));
  const written = await changesAfter(from);
  assert.equal(written.length, writers * rounds * 3, 'each write recorded one change');

  const lastSeq = written.at(-1).seq;
  await Promise.all(readers.map((r) => r.until((seqs) => seqs.includes(lastSeq), 30_000, `seq ${lastSeq}`)));
  // Nothing repeated after the last: the next change made is the next received.
  const after = await createTask({ title: 'After the load' });
  const feed = await changesAfter(from);
  const afterSeq = feed.at(-1).seq;
  assert.equal(feed.at(-1).activity_id, after.activity_id);
  await Promise.all(readers.map((r) => r.until((seqs) => seqs.includes(afterSeq), 10_000, `seq ${afterSeq}`)));

  const expected = feed.map((c) => c.seq);
  for (const r of readers) {
    assert.deepEqual(r.items, expected, `${r.name} received the feed's changes, each once, in order`);
  }
});

// A key holds at most 100 open streams and subscriptions together (the
// server's default --max-subscriptions), whatever carries them: here 60
// graphql-ws subscriptions on one socket, 20 graphql-sse subscriptions and
// 20 EventSources, all of one key that nothing else uses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient as createSocketClient } from 'graphql-ws';
import { createClient as createEventStreamClient } from 'graphql-sse';
import { EventSource } from 'eventsource';
import {
  socketURL, queryURL, streamURL, credentials, secondCredentials,
  createTask, headSeq, Received,
} from './api.mjs';

const taskChanged = 'subscription Changes($after: Seq) { taskChanged(after: $after) { seq taskId } }';

function follow(client, variables, name) {
  const received = new Received(name);
  received.dispose = client.subscribe({ query: taskChanged, variables }, {
    next(result) {
      if (result.errors) received.fail(result.errors);
      else received.push(result.data.taskChanged);
    },
    error(err) {
      received.fail(err);
    },
    complete() {},
  });
  return received;
}

function eventSource(url, keys, name) {
  const received = new Received(name);
  received.errors = [];
  received.opened = false;
  const es = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...keys } }),
  });
  for (const type of ['created', 'updated', 'deleted']) {
    es.addEventListener(type, (event) => received.push(JSON.parse(event.data)));
  }
  es.addEventListener('open', () => {
    received.opened = true;
    received.wake();
  });
  es.addEventListener('error', (event) => {
    received.errors.push({ code: event.code, readyState: es.readyState });
    received.wake();
  });
  received.es = es;
  received.dispose = () => es.close();
  return received;
}

// The error a refused GraphQL subscription ends with: its errors' codes.
const codes = (errors) => (Array.isArray(errors) ? errors.map((e) => e.extensions?.code) : errors);

describe('a key holding 100 streams and subscriptions', () => {
  let socket, eventStreams;
  const open = [];

  before(async () => {
    socket = createSocketClient({ url: socketURL, webSocketImpl: WebSocket, connectionParams: secondCredentials, retryAttempts: 0 });
    eventStreams = createEventStreamClient({ url: queryURL, headers: secondCredentials, singleConnection: false, retryAttempts: 0 });
    const from = await headSeq(secondCredentials);
    for (let i = 0; i < 60; i++) open.push(follow(socket, { after: from }, `graphql-ws subscription ${i}`));
    for (let i = 0; i < 20; i++) open.push(follow(eventStreams, { after: from }, `graphql-sse subscription ${i}`));
    for (let i = 0; i < 20; i++) open.push(eventSource(`${streamURL}?after=${from}`, secondCredentials, `EventSource ${i}`));
    // Every one of them is held: each receives the next change.
    const task = await createTask({ title: 'Seen by a hundred' });
    await Promise.all(open.map((r) => r.until((items) => items.some((c) => String(c.activity_id ?? c.taskId) === String(task.activity_id)), 15_000, 'the change')));
  });

  after(async () => {
    for (const r of open) r.dispose();
    await socket?.dispose();
    eventStreams?.dispose();
  });

  it('refuses one more graphql-ws subscription with TOO_MANY_SUBSCRIPTIONS', async () => {
    const refused = follow(socket, {}, 'graphql-ws subscription 101');
    await refused.until(() => false, 10_000, 'a refusal').catch(() => {});
    assert.deepEqual(codes(refused.error), ['TOO_MANY_SUBSCRIPTIONS']);
  });

  it('refuses one more graphql-sse subscription with TOO_MANY_SUBSCRIPTIONS', async () => {
    const refused = follow(eventStreams, {}, 'graphql-sse subscription 101');
    await refused.until(() => false, 10_000, 'a refusal').catch(() => {});
    assert.deepEqual(codes(refused.error), ['TOO_MANY_SUBSCRIPTIONS']);
  });

  it('refuses one more event stream with 429, and the EventSource closes', async () => {
    const refused = eventSource(streamURL, secondCredentials, 'EventSource 101');
    try {
      await refused.until(() => refused.errors.length > 0, 10_000, 'an error event');
      assert.deepEqual(refused.errors, [{ code: 429, readyState: EventSource.CLOSED }]);
      assert.equal(refused.opened, false);
    } finally {
      refused.dispose();
    }
  });

  it('does not limit another key of the same organisation', async () => {
    const client = createSocketClient({ url: socketURL, webSocketImpl: WebSocket, connectionParams: credentials, retryAttempts: 0 });
    try {
      const received = follow(client, { after: await headSeq() }, 'graphql-ws subscription of another key');
      const task = await createTask();
      await received.until((items) => items.some((c) => c.taskId === String(task.activity_id)));
      assert.equal(received.error, null);
    } finally {
      await client.dispose();
    }
  });

  it('gives a closed subscription\'s place to a new stream', async () => {
    open.shift().dispose(); // a graphql-ws subscription: its socket carries on
    // The server learns of the close asynchronously: try for up to 5 s.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const next = eventSource(streamURL, secondCredentials, 'EventSource in the freed place');
      await next.until(() => next.opened || next.errors.length > 0, 10_000, 'open or an error');
      if (next.opened) {
        open.push(next);
        break;
      }
      next.dispose();
      assert.deepEqual(next.errors.map((e) => e.code), [429]);
      assert.ok(Date.now() < deadline, 'the place of the closed subscription was not freed within 5 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

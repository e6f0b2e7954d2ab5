// GraphQL subscriptions over WebSocket (graphql-transport-ws) through the
// protocol's reference client, graphql-ws, on the ws package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import {
  socketURL, credentials, otherCredentials, wrongCredentials,
  createTask, updateTask, deleteTask, headSeq, changesAfter, untilLive, Received,
} from './api.mjs';

const taskChanged = `subscription Changes($after: Seq) {
  taskChanged(after: $after) {
    seq type taskId at changedFields
    task { id title endDatetime dueDate version }
  }
}`;

function connect(connectionParams, more = {}) {
  return createClient({
    url: socketURL,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    ...more,
  });
}

// follow subscribes to taskChanged and collects each change received.
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

function arrived(taskId, type) {
  return (items) => items.some((c) => c.taskId === String(taskId) && c.type === type);
}

function assertSameAsTheFeed(received, feed) {
  assert.deepEqual(
    received.map((c) => [c.seq, c.type, c.taskId]),
    feed.map((c) => [c.seq, c.type.toUpperCase(), String(c.activity_id)]),
  );
  for (let i = 1; i < received.length; i++) {
    assert.ok(received[i].seq > received[i - 1].seq, `seq ${received[i].seq} after ${received[i - 1].seq}`);
  }
}

test('a subscription from now receives a task\'s creation, change and deletion once each, in order of seq', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const before = await headSeq();

  const received = follow(client, {}, 'graphql-ws from now');
  await untilLive(received);
  const task = await createTask({ title: 'Prepare the quarterly review' });
  await updateTask(task.activity_id, { title: 'Prepare the annual review', end_datetime: '2030-01-09T17:00:00' });
  await deleteTask(task.activity_id);
  await received.until(arrived(task.activity_id, 'DELETED'));
  // Nothing repeated: the next change to arrive is the next one made.
  const last = await createTask();
  await received.until(arrived(last.activity_id, 'CREATED'));

  const first = received.items[0].seq;
  assert.ok(first > before, `from now: the first change received (${first}) is newer than the head when subscribing (${before})`);
  assertSameAsTheFeed(received.items, await changesAfter(first - 1));

  const mine = received.items.filter((c) => c.taskId === String(task.activity_id));
  assert.deepEqual(mine.map((c) => [c.type, c.changedFields]), [
    ['CREATED', []],
    ['UPDATED', ['dueDate', 'endDatetime', 'title']],
    ['DELETED', []],
  ]);
  assert.deepEqual(mine[0].task, {
    id: String(task.activity_id), title: 'Prepare the quarterly review',
    endDatetime: null, dueDate: '2030-01-07', version: 1,
  });
  assert.deepEqual(mine[1].task, {
    id: String(task.activity_id), title: 'Prepare the annual review',
    endDatetime: '2030-01-09T17:00:00', dueDate: '2030-01-09', version: 2,
  });
  assert.equal(mine[2].task, null);
  assert.match(mine[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
});

test('a subscription after a seq replays every change after it, then follows live (iterate)', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const from = await headSeq();
  const a = await createTask({ title: 'Send the contract' });
  await updateTask(a.activity_id, { priority: 4 });
  const b = await createTask({ title: 'Book the venue' });

  const iterator = client.iterate({ query: taskChanged, variables: { after: from } });
  t.after(() => iterator.return());
  const received = [];
  const next = async () => {
    let timer;
    const { value, done } = await Promise.race([
      iterator.next(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no change after ${JSON.stringify(received)}`)), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(done, false, 'the subscription ended early');
    assert.equal(value.errors, undefined, JSON.stringify(value.errors));
    received.push(value.data.taskChanged);
  };
  for (let i = 0; i < 3; i++) await next();
  // Then live: the next change made is the next received.
  const c = await createTask({ title: 'Order the catering' });
  await next();

  assertSameAsTheFeed(received, await changesAfter(from));
  assert.deepEqual(received.map((x) => [x.type, x.taskId, x.changedFields]), [
    ['CREATED', String(a.activity_id), []],
    ['UPDATED', String(a.activity_id), ['priority']],
    ['CREATED', String(b.activity_id), []],
    ['CREATED', String(c.activity_id), []],
  ]);
});

test('a subscriber of another organisation receives none of this organisation\'s changes', async (t) => {
  const client = connect(otherCredentials);
  t.after(() => client.dispose());
  const received = follow(client, { after: await headSeq(otherCredentials) }, 'graphql-ws other organisation');

  const task = await createTask({ title: 'Not theirs' });
  await updateTask(task.activity_id, { status: 1 });
  await deleteTask(task.activity_id);
  const theirs = await createTask({ title: 'Theirs' }, otherCredentials);
  await received.until(arrived(theirs.activity_id, 'CREATED'));
  const theirsToo = await createTask({ title: 'Theirs too' }, otherCredentials);
  await received.until(arrived(theirsToo.activity_id, 'CREATED'));

  assert.deepEqual(received.items.map((c) => [c.type, c.taskId]), [
    ['CREATED', String(theirs.activity_id)],
    ['CREATED', String(theirsToo.activity_id)],
  ]);
});

test('credentials on the upgrade request are enough: connection_init without them is acknowledged', async (t) => {
  class WebSocketWithKey extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers: credentials });
    }
  }
  const client = connect(undefined, { webSocketImpl: WebSocketWithKey });
  t.after(() => client.dispose());
  const received = follow(client, { after: await headSeq() }, 'graphql-ws key on the upgrade');
  const task = await createTask();
  await received.until(arrived(task.activity_id, 'CREATED'));
  assert.equal(received.items.length, 1);
});

async function closeOf(connectionParams) {
  const closed = [];
  const client = connect(connectionParams, { on: { closed: (event) => closed.push(event) } });
  try {
    const received = follow(client, {}, 'graphql-ws refused');
    await received.until(() => false, 10_000, 'a close').catch(() => {});
    assert.equal(received.items.length, 0, 'no change reaches a refused socket');
    assert.ok(received.error, 'the subscription fails');
    return { error: received.error, closed };
  } finally {
    await client.dispose();
  }
}

test('a wrong secret in connection_init closes the socket with 4403', async () => {
  const { error, closed } = await closeOf(wrongCredentials);
  assert.equal(error.code, 4403, `closed with ${error.code} ${error.reason}`);
  assert.deepEqual(closed.map((e) => e.code), [4403]);
});

test('a connection_init without credentials closes the socket with 4403', async () => {
  const { error, closed } = await closeOf(undefined);
  assert.equal(error.code, 4403, `closed with ${error.code} ${error.reason}`);
  assert.deepEqual(closed.map((e) => e.code), [4403]);
});

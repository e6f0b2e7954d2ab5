// GraphQL subscriptions over server-sent events through the graphql-sse
// protocol's reference client, in its distinct connections mode (one POST
// with Accept: text/event-stream for each operation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-sse';
import {
  queryURL, credentials, wrongCredentials,
  createTask, updateTask, deleteTask, headSeq, changesAfter, untilLive, Received,
} from './api.mjs';

const taskChanged = `subscription Changes($after: Seq) {
  taskChanged(after: $after) { seq type taskId changedFields task { id title priority version } }
}`;

function connect(headers) {
  return createClient({ url: queryURL, headers, singleConnection: false, retryAttempts: 0 });
}

// run subscribes to an operation and collects its results, the protocol's
// events as they came (their event fields), and how it ended.
function run(client, request, name) {
  const received = new Received(name);
  received.events = [];
  received.completed = 0;
  received.dispose = client.subscribe(request, {
    next(result) {
      received.push(result);
    },
    error(err) {
      received.fail(err);
    },
    complete() {
      received.completed++;
      received.wake();
    },
  }, {
    message(msg) {
      received.events.push(msg.event);
    },
  });
  return received;
}

const changes = (received) => received.items.map((r) => r.data.taskChanged);

function arrived(taskId, type) {
  return (items) => items.some((r) => r.data?.taskChanged.taskId === String(taskId) && r.data.taskChanged.type === type);
}

test('changes arrive as next events, in order of seq, once each', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const from = await headSeq();
  const received = run(client, { query: taskChanged, variables: { after: from } }, 'graphql-sse');
  t.after(() => received.dispose());

  const task = await createTask({ title: 'Renew the lease' });
  await updateTask(task.activity_id, { title: 'Renew the office lease', priority: 3 });
  await deleteTask(task.activity_id);
  await received.until(arrived(task.activity_id, 'DELETED'));
  const last = await createTask();
  await received.until(arrived(last.activity_id, 'CREATED'));

  assert.deepEqual(received.items.map((r) => r.errors), received.items.map(() => undefined));
  const feed = await changesAfter(from);
  assert.deepEqual(
    changes(received).map((c) => [c.seq, c.type, c.taskId]),
    feed.map((c) => [c.seq, c.type.toUpperCase(), String(c.activity_id)]),
  );
  assert.deepEqual(changes(received).map((c) => [c.type, c.changedFields, c.task]), [
    ['CREATED', [], { id: String(task.activity_id), title: 'Renew the lease', priority: 'MEDIUM', version: 1 }],
    ['UPDATED', ['priority', 'title'], { id: String(task.activity_id), title: 'Renew the office lease', priority: 'HIGH', version: 2 }],
    ['DELETED', [], null],
    ['CREATED', [], { id: String(last.activity_id), title: last.title, priority: 'MEDIUM', version: 1 }],
  ]);
  assert.deepEqual(received.events, ['next', 'next', 'next', 'next']);
});

test('a subscription from now starts after the newest change when it was made', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  await createTask({ title: 'Already recorded' });
  const before = await headSeq();
  const received = run(client, { query: taskChanged }, 'graphql-sse from now');
  t.after(() => received.dispose());

  const probes = await untilLive(received);
  const first = changes(received)[0];
  assert.ok(first.seq > before, `the first change received (${first.seq}) is newer than the head (${before})`);
  assert.equal(first.type, 'CREATED');
  assert.ok(probes.some((p) => String(p.activity_id) === first.taskId), 'the first change received is of a task created after subscribing');
});

test('disposing a subscription completes it, without an error', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const received = run(client, { query: taskChanged, variables: { after: await headSeq() } }, 'graphql-sse disposed');
  const task = await createTask();
  await received.until(arrived(task.activity_id, 'CREATED'));

  received.dispose();
  await received.until(() => received.completed > 0, 10_000, 'complete');
  assert.equal(received.completed, 1);
  assert.equal(received.error, null);
  assert.equal(received.items.length, 1);
});

test('a query over a distinct connection is one next event, then complete', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const received = run(client, { query: '{ taskChanges(first: 1) { headSeq } }' }, 'graphql-sse query');
  await received.until(() => received.completed > 0, 10_000, 'complete');

  assert.equal(received.error, null);
  assert.deepEqual(received.events, ['next', 'complete']);
  assert.deepEqual(received.items, [{ data: { taskChanges: { headSeq: await headSeq() } } }]);
});

test('a subscription that does not validate is reported in a next event, then complete', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const received = run(client, { query: 'subscription { taskChanged { nope } }' }, 'graphql-sse invalid');
  await received.until(() => received.completed > 0, 10_000, 'complete');

  assert.equal(received.error, null);
  assert.deepEqual(received.events, ['next', 'complete']);
  assert.equal(received.items.length, 1);
  assert.equal('data' in received.items[0], false, JSON.stringify(received.items[0]));
  assert.deepEqual(received.items[0].errors.map((e) => e.extensions?.code), ['GRAPHQL_VALIDATION_FAILED']);
});

test('an after that is not a seq is a BAD_USER_INPUT on after in a next event, then complete', async (t) => {
  const client = connect(credentials);
  t.after(() => client.dispose());
  const received = run(client, { query: taskChanged, variables: { after: -1 } }, 'graphql-sse bad after');
  await received.until(() => received.completed > 0, 10_000, 'complete');

  assert.equal(received.error, null);
  assert.deepEqual(received.events, ['next', 'complete']);
  assert.equal(received.items.length, 1);
  const [error] = received.items[0].errors ?? [];
  assert.equal(error?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(received.items[0]));
  assert.deepEqual(Object.keys(error.extensions.fields), ['after']);
});

test('wrong credentials are refused with 401 before any event', async (t) => {
  const client = connect(wrongCredentials);
  t.after(() => client.dispose());
  const received = run(client, { query: taskChanged }, 'graphql-sse refused');
  await received.until(() => false, 10_000, 'an error').catch(() => {});

  assert.ok(received.error, 'the subscription fails');
  assert.equal(received.error.response?.status, 401, received.error.message);
  assert.deepEqual(received.events, []);
  assert.equal(received.completed, 0);
});

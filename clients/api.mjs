// The tasks API as the tests see it: where the server is, its keys, writes
// through REST, the change feed read page by page through REST (what every
// live client is compared with), and a collector of what a live client
// receives.
import net from 'node:net';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests with clients/run.sh, which starts a server`);
  }
  return value;
}

export const baseURL = env('TASKS_API_URL').replace(/\/$/, '');
export const queryURL = `${baseURL}/query`;
export const socketURL = queryURL.replace(/^http/, 'ws');
export const streamURL = `${baseURL}/v1/tasks/changes/stream`;

export const credentials = {
  'x-ysuite-access-key': env('TASKS_API_ACCESS_KEY'),
  'x-ysuite-secret-key': env('TASKS_API_SECRET_KEY'),
};

// A second key of the same organisation, whose streams only the tests of
// the limit on a key's streams open.
export const secondCredentials = {
  'x-ysuite-access-key': env('TASKS_API_SECOND_ACCESS_KEY'),
  'x-ysuite-secret-key': env('TASKS_API_SECOND_SECRET_KEY'),
};

// A key of another organisation, which must see none of the first one's changes.
export const otherCredentials = {
  'x-ysuite-access-key': env('TASKS_API_OTHER_ACCESS_KEY'),
  'x-ysuite-secret-key': env('TASKS_API_OTHER_SECRET_KEY'),
};

export const wrongCredentials = {
  'x-ysuite-access-key': credentials['x-ysuite-access-key'],
  'x-ysuite-secret-key': 'sk_not-the-secret-of-this-key',
};

async function rest(method, path, body, keys = credentials) {
  const res = await fetch(`${baseURL}${path}`, {
    method,
    headers: {
      ...keys,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`${method} ${path}: ${res.status} ${text}`);
  }
  const envelope = JSON.parse(text);
  if (envelope.success !== true) {
    throw new Error(`${method} ${path}: ${text}`);
  }
  return envelope.data;
}

let titles = 0;

// createTask creates a task through POST /v1/tasks and returns it.
export function createTask(fields = {}, keys = credentials) {
  titles++;
  return rest('POST', '/v1/tasks', {
    title: `Call back ${process.pid}-${titles}`,
    start_datetime: '2030-01-07T09:00:00',
    deal_id: 1,
    ...fields,
  }, keys);
}

// updateTask changes a task through PATCH /v1/tasks/{id} and returns it.
export function updateTask(id, fields, keys = credentials) {
  return rest('PATCH', `/v1/tasks/${id}`, fields, keys);
}

// deleteTask deletes a task through DELETE /v1/tasks/{id}.
export function deleteTask(id, keys = credentials) {
  return rest('DELETE', `/v1/tasks/${id}`, undefined, keys);
}

// headSeq is the newest seq of the organisation's changes (0 when none).
export async function headSeq(keys = credentials) {
  const page = await rest('GET', '/v1/tasks/changes?limit=1', undefined, keys);
  return page.head_seq;
}

// changesAfter reads every change after `after` through GET
// /v1/tasks/changes, page by page.
export async function changesAfter(after, keys = credentials) {
  const all = [];
  for (;;) {
    const page = await rest('GET', `/v1/tasks/changes?after=${after}&limit=1000`, undefined, keys);
    all.push(...page.changes);
    after = page.last_seq;
    if (!page.has_more) return all;
  }
}

// Received collects what one live client is given, in arrival order, and
// lets a test wait until a condition holds or a deadline passes.
export class Received {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.error = null;
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    this.wake();
  }

  fail(error) {
    this.error = error;
    this.wake();
  }

  wake() {
    for (const w of this.waiters) w();
  }

  // until resolves once test(items) is true; it rejects when the client
  // reports an error first or when ms pass.
  until(test, ms = 10_000, what = 'the expected items') {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (test(this.items)) {
          done();
          resolve(this.items);
        } else if (this.error) {
          done();
          reject(new Error(`${this.name}: failed before ${what} arrived: ${describe(this.error)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: ${what} did not arrive within ${ms} ms; received ${JSON.stringify(this.items.slice(-5))} (last 5 of ${this.items.length})`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  // count resolves once n items have arrived.
  count(n, ms) {
    return this.until((items) => items.length >= n, ms, `${n} items`);
  }
}

export function describe(err) {
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    return `close ${err.code} ${err.reason}`;
  }
  if (err instanceof Error) return err.message;
  return JSON.stringify(err);
}

// untilLive makes a live client that follows the feed from now provably
// live: it creates a task every 100 ms until the client has received a
// change, then waits for every create it started. It returns the tasks
// created. A client from now cannot otherwise tell when the server has
// settled where "now" is.
export async function untilLive(received, keys = credentials, ms = 10_000) {
  const created = [];
  const deadline = Date.now() + ms;
  while (received.items.length === 0) {
    if (received.error) throw new Error(`${received.name}: ${describe(received.error)}`);
    if (Date.now() > deadline) throw new Error(`${received.name}: nothing arrived within ${ms} ms of creating tasks`);
    created.push(createTask({ title: 'Probe' }, keys));
    await new Promise((r) => setTimeout(r, 100));
  }
  return Promise.all(created);
}

// A TCP relay to the server that can cut every connection through it and
// hold new ones until it is let go: a network that fails, for clients that
// say they recover from one.
export async function startRelay() {
  const target = new URL(baseURL);
  const open = new Set();
  const held = [];
  let holding = false;

  const connect = (client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const server = net.createServer((client) => {
    if (holding) {
      client.on('error', () => {});
      held.push(client);
    } else {
      connect(client);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  let connections = 0;
  server.on('connection', () => connections++);

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    // connections counts the connections clients have opened.
    get connections() {
      return connections;
    },
    // cut ends every open connection and holds new ones.
    cut() {
      holding = true;
      for (const s of open) s.destroy();
    },
    // restore passes held and new connections on to the server.
    restore() {
      holding = false;
      for (const c of held.splice(0)) if (!c.destroyed) connect(c);
    },
    close() {
      for (const s of open) s.destroy();
      for (const c of held.splice(0)) c.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// Every call the dashboard makes: the public and admin routes, with the signed-in key as a bearer token.
const KEY = 'reelay.key';
const ROLE = 'reelay.role';

export class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? null;
    this.param = error?.param ?? null;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get role() { return sessionStorage.getItem(ROLE); },
  save(key, role) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(ROLE, role); },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ROLE); },
};

// Raised once per refused key: the shell sends the person back to sign-in with the API's own reason.
let onRefused = () => {};
export function whenKeyRefused(handler) { onRefused = handler; }

export function headers(key = session.key, extra = {}) {
  return { Authorization: `Bearer ${key}`, ...extra };
}

export async function call(method, path, body, { key = session.key, signal, quiet = false } = {}) {
  const init = { method, headers: headers(key), signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const json = text ? safeJson(text) : null;
  if (!response.ok) {
    const failure = new ApiFailure(response.status, json?.error);
    // 401 means the key itself is no good any more (revoked, expired, unknown): sign out with the reason.
    if (response.status === 401 && !quiet) onRefused(failure);
    throw failure;
  }
  return json;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

export const get = (path, options) => call('GET', path, undefined, options);
export const post = (path, body, options) => call('POST', path, body ?? {}, options);
export const patch = (path, body, options) => call('PATCH', path, body, options);
export const put = (path, body, options) => call('PUT', path, body, options);
export const del = (path, options) => call('DELETE', path, undefined, options);

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

/**
 * Which kind of key this is, asked of the API itself: a client route answers 200 to a client key and
 * 403 admin_key_not_allowed to an admin key; an unknown, revoked or expired key is a 401 with its reason.
 */
export async function detectRole(key) {
  try {
    await get('/v1/models', { key, quiet: true });
    return 'client';
  } catch (failure) {
    if (failure instanceof ApiFailure && failure.code === 'admin_key_not_allowed') {
      await get('/admin/accounts' + query({ limit: 1 }), { key, quiet: true });
      return 'admin';
    }
    throw failure;
  }
}

/**
 * A task's changes as Server-Sent Events. EventSource cannot send an Authorization header, so the stream
 * is read with fetch(); a dropped stream reconnects with Last-Event-ID, and a stream that cannot be opened
 * at all falls back to long-polling the query route (each wait answers at the next change).
 */
export async function watchTask(id, onTask, signal) {
  let lastId = null;
  let task = null;
  for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
    try {
      const response = await fetch('/v1/video/events' + query({ id }), {
        headers: headers(session.key, lastId ? { 'Last-Event-ID': lastId, Accept: 'text/event-stream' } : { Accept: 'text/event-stream' }),
        signal,
      });
      if (response.status === 204) return task;
      if (!response.ok || !response.body) break;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) lastId = line.slice(4);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) {
            task = JSON.parse(data);
            onTask(task, 'sse');
          }
        }
      }
      if (task && isFinal(task.status)) return task;
    } catch (error) {
      if (signal.aborted) return task;
    }
  }
  return longPoll(id, onTask, signal);
}

async function longPoll(id, onTask, signal) {
  for (;;) {
    const task = await get('/v1/video/query' + query({ id, wait: 30 }), { signal });
    onTask(task, 'long-poll');
    if (isFinal(task.status)) return task;
  }
}

export const isFinal = status => status === 'completed' || status === 'failed' || status === 'cancelled';

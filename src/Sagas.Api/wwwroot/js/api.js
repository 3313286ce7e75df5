// Every call to the API goes through here so that the credential and error handling are the same everywhere.
const keyStorage = 'sagas.apiKey';

export const apiKey = {
  get: () => sessionStorage.getItem(keyStorage) || '',
  set(value) {
    if (value) sessionStorage.setItem(keyStorage, value);
    else sessionStorage.removeItem(keyStorage);
    window.dispatchEvent(new CustomEvent('sagas:key-changed'));
  },
};

/** A failed call, carrying the ProblemDetails body (or one made up from what the server sent). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function authHeaders() {
  const key = apiKey.get();
  return key ? { 'X-Api-Key': key } : {};
}

export async function api(path, { method = 'GET', json, form, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...authHeaders() };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }

  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: 'The API could not be reached', detail: `${method} ${path}: ${error.message}` });
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object'
      ? data
      : { title: response.statusText || `HTTP ${response.status}`, detail: typeof data === 'string' ? data.slice(0, 500) : undefined };
    problem.status ??= response.status;
    if (response.status === 401) window.dispatchEvent(new CustomEvent('sagas:unauthorized'));
    throw new ApiError(response.status, problem);
  }
  return data;
}

/** Downloads a protected file: the header cannot ride on a plain link, so the body is fetched and saved. */
export async function download(path, fallbackName) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch { problem = { title: `HTTP ${response.status}` }; }
    throw new ApiError(response.status, problem);
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A POST answered as server-sent events: each event goes to onEvent(type, data) as it arrives. A refused request
 * (any non-2xx, ProblemDetails) throws ApiError like api() does, before any event.
 */
export async function streamApi(path, { json, onEvent, signal }) {
  const headers = { Accept: 'text/event-stream', 'Content-Type': 'application/json', ...authHeaders() };
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(json), signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: 'The API could not be reached', detail: `POST ${path}: ${error.message}` });
  }
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch { problem = { title: response.statusText || `HTTP ${response.status}` }; }
    problem.status ??= response.status;
    if (response.status === 401) window.dispatchEvent(new CustomEvent('sagas:unauthorized'));
    throw new ApiError(response.status, problem);
  }

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(type, JSON.parse(data.join('\n')));
    }
  }
}

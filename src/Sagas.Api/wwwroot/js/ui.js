// Small DOM helpers: no framework, so the dashboard loads offline with no build step.

/** el('tag.class', {attr: value, onclick: fn}, ...children) */
export function el(spec, attributes = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Renders an ApiError (or any error) as the ProblemDetails it carries: title, detail, field errors. */
export function problemBox(error) {
  const problem = error?.problem ?? { title: error?.message ?? String(error) };
  const fieldErrors = problem.errors && typeof problem.errors === 'object'
    ? Object.entries(problem.errors).map(([field, messages]) => el('li', {}, el('code', {}, field), ': ', [].concat(messages).join(' ')))
    : [];
  return el('div.problem', { role: 'alert', 'data-testid': 'problem' },
    el('strong', {}, problem.title || 'Request failed', problem.status ? ` (${problem.status})` : ''),
    problem.detail ? el('p', {}, problem.detail) : null,
    fieldErrors.length ? el('ul', {}, fieldErrors) : null,
    problem.traceId ? el('small', {}, 'trace ', problem.traceId) : null);
}

export function showProblem(container, error) {
  replace(container, problemBox(error));
}

export function notAvailable(container, what, error) {
  replace(container, el('div.notice', { 'data-testid': 'not-available' },
    el('strong', {}, `${what} is not available from this API`),
    el('p', {}, error?.status === 404
      ? 'The route answered 404: this server does not have it yet. The page will work once it does.'
      : (error?.problem?.detail || error?.message || ''))));
}

/** A date and time that never wraps, with the exact instant on hover. */
export const dateTime = value => value
  ? el('time', { datetime: value, title: new Date(value).toISOString() }, new Date(value).toLocaleString())
  : '—';

/** "850 ms", "12.3 s", "3 min 05 s", "2 h 07 min": how long something took from start to end (now while running). */
export function duration(start, end) {
  if (!start) return '—';
  const ms = Math.max(0, (end ? new Date(end) : new Date()) - new Date(start));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor(seconds / 60) % 60).padStart(2, '0')} min`;
}

/**
 * The short form of an id, the same on every page. NewId ids made by one process share their first three groups
 * (process, machine) and are ordered by time in the other two: the fourth group holds the fast-changing low bits of the
 * clock, the last group the slow high bits, whose last characters change every few milliseconds. So the short form is
 * the fourth group and the id's last four characters, "5c66…eb7e", both of which can be found in the full id. Two ids
 * made in the same clock tick differ only in a sequence number kept in the first group's last four characters (bytes
 * swapped): a nonzero one is added as "+n", "5c66…eb7e+1".
 */
export function shortId(id) {
  const text = String(id ?? '');
  const groups = text.split('-');
  if (groups.length !== 5) return text.slice(-8);
  const sequence = parseInt(groups[0].slice(6, 8) + groups[0].slice(4, 6), 16);
  return `${groups[3]}…${groups[4].slice(-4)}${sequence ? `+${sequence}` : ''}`;
}

/** A short id (a link when href is given) with the full id on hover and a button that copies the full id. */
export function idCell(id, href) {
  const text = el('code', { title: id }, shortId(id));
  return el('span.id', { 'data-id': id }, href ? el('a', { href, 'aria-label': id }, text) : text, ' ', copyButton(id));
}

/** The full id, in full, with a button that copies it: for headings and detail views. */
export function fullId(id) {
  return el('span.id', { 'data-id': id }, el('code', {}, id), ' ', copyButton(id));
}

export function copyButton(text) {
  const button = el('button.copy', { type: 'button', title: `Copy ${text}`, 'aria-label': `Copy ${text}`, onclick: async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      // Without the asynchronous clipboard (plain http on another host, a denied permission) the old command still works.
      const scratch = el('textarea', { readonly: true, style: 'position:fixed;opacity:0' }, text);
      document.body.append(scratch);
      scratch.select();
      copied = document.execCommand('copy');
      scratch.remove();
    }
    button.textContent = copied ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  } }, 'Copy');
  return button;
}
export const number = value => value === null || value === undefined ? '—' : Number(value).toLocaleString();
export const money = value => value === null || value === undefined ? '—' : `$${Number(value).toFixed(4)}`;

export function statusBadge(status) {
  return el('span.badge', { dataset: { status: String(status ?? '').toLowerCase() } }, status ?? '—');
}

export function progressBar(done, total, label) {
  const percent = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return el('div.progress', { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent), 'data-testid': 'progress' },
    el('div.fill', { style: `width:${percent}%` }),
    el('span', {}, label ?? `${number(done)} / ${number(total)} (${percent}%)`));
}

/** columns: { title, render(row), className? }; rowClass(row) may name a class for a row. */
export function table(columns, rows, { empty = 'Nothing yet.', testid, rowClass } = {}) {
  if (!rows.length) return el('p.empty', { 'data-testid': testid ? `${testid}-empty` : undefined }, empty);
  return el('table', { 'data-testid': testid },
    el('thead', {}, el('tr', {}, columns.map(column => el('th', { class: column.className }, column.title)))),
    el('tbody', {}, rows.map(row => el('tr', { class: rowClass?.(row) || undefined },
      columns.map(column => el('td', { class: column.className }, column.render(row)))))));
}

export function pager(page, pageSize, total, go, { testid } = {}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return el('div.pager', { 'data-testid': testid },
    el('button.secondary', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1) }, '← Previous'),
    el('span', {}, `Page ${page} of ${pages} · ${number(total)} in all`),
    el('button.secondary', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next →'));
}

/** Runs fn now and every `ms` until stopped; a failing tick does not stop the timer. */
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try { await fn(); } catch (error) { console.warn(error); } finally { if (!stopped) timer = setTimeout(tick, ms); }
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

import { api, download } from '../api.js';
import { live } from '../live.js';
import { el, replace, problemBox, statusBadge, progressBar, table, number, every } from '../ui.js';

export const title = 'Scan';
const lastSessionKey = 'sagas.scan.lastSession';
const finished = status => ['completed', 'failed', 'cancelled', 'error'].includes(status);

export function render(main, [sessionId]) {
  const view = {
    sessionId: sessionId || null,
    processed: 0,
    total: 0,
    value: 0,
    status: sessionId ? 'connecting' : 'idle',
    matches: [],
    matchKeys: new Set(),
    complete: null,
    error: null,
  };

  const statusArea = el('div', { 'data-testid': 'scan-status' });
  const progressArea = el('div');
  const resultArea = el('div', { 'data-testid': 'scan-complete' });
  const matchesArea = el('div', { 'data-testid': 'scan-matches' });
  const formResult = el('div');

  const codes = el('textarea', { name: 'codes', id: 'scan-codes', rows: 3, required: true, placeholder: 'HOLE-1, HOLE-2\nHOLE-17' });
  const files = el('input', { type: 'file', id: 'scan-files', name: 'files', multiple: true, required: true });
  const token = el('input', { type: 'password', id: 'scan-token', autocomplete: 'off', placeholder: 'only for manifests with Google Drive links' });
  const form = el('form', { id: 'scan-form', onsubmit: event => { event.preventDefault(); start(); } },
    el('label', {}, 'Files: individual documents, one ZIP archive, or one manifest (xlsx/csv of names with Drive ids or URLs)', files),
    el('label', {}, 'Target hole codes (comma, space or one per line)', codes),
    el('label', {}, 'Google Drive token (optional)', token),
    el('button', { type: 'submit' }, 'Start scan'),
    formResult);

  main.append(
    el('h1', {}, 'Scan'),
    el('div.columns', {},
      el('section.card', {}, el('h2', {}, 'Start a scan'), form),
      el('section.card', {}, el('h2', {}, 'Progress'), statusArea, progressArea, resultArea)),
    el('section.card', {}, el('h2', {}, 'Matches'), matchesArea));

  function draw() {
    replace(statusArea,
      view.sessionId ? el('p', {}, 'Session ', el('code', { 'data-testid': 'scan-session-id' }, view.sessionId), ' ', statusBadge(view.status)) : el('p', {}, statusBadge(view.status)),
      view.error ? problemBox(view.error) : null,
      view.sessionId && !finished(view.status) ? el('button.danger', { type: 'button', onclick: cancel }, 'Cancel scan') : null);
    replace(progressArea, view.status === 'idle' ? null : progressBar(view.processed, view.total,
      view.total ? `${number(view.processed)} / ${number(view.total)} files (${view.value}%)` : 'Waiting for the first progress…'));
    replace(matchesArea, table([
      { title: 'Hole code', render: m => el('code', {}, m.hole_code) },
      { title: 'File', render: m => m.file_name },
      { title: 'Status', render: m => m.status },
      { title: 'Link', render: m => m.pdf_link ? el('a', { href: m.pdf_link, target: '_blank', rel: 'noopener noreferrer' }, 'open') : '—' },
    ], view.matches, { empty: 'No matches yet.', testid: 'matches-table' }));
    if (view.complete) {
      const c = view.complete;
      replace(resultArea,
        el('p.ok', {}, c.message ?? 'Scan complete', ` · ${number(c.total_processed)} files · ${number(c.total_matches)} matches`),
        el('button', { type: 'button', id: 'scan-download', onclick: downloadReport }, 'Download report (.xlsx)'));
    } else {
      replace(resultArea);
    }
  }

  async function downloadReport() {
    try {
      // The COMPLETE message carries an expiring link; once it has expired the API's report route mints a new one.
      if (view.complete?.download_url) {
        const link = el('a', { href: view.complete.download_url, download: `scan-${view.sessionId ?? 'report'}.xlsx` });
        document.body.append(link);
        link.click();
        link.remove();
      } else {
        await download(`/api/scan-sessions/${encodeURIComponent(view.sessionId)}/report`, `scan-${view.sessionId}.xlsx`);
      }
    } catch (error) {
      resultArea.append(problemBox(error));
    }
  }

  function adopt(id) {
    if (!id || view.sessionId === id) return;
    view.sessionId = id;
    sessionStorage.setItem(lastSessionKey, id);
    history.replaceState(null, '', `#/scan/${encodeURIComponent(id)}`);
    unsubscribe = live.subscribe({ action: 'subscribe', session_id: id });
  }

  function onMessage(message) {
    const about = message.session_id ?? message.sessionId ?? message.data?.session_id;
    if (about && view.sessionId && about !== view.sessionId) return;
    // Between start_scan and STARTED, messages of an earlier session on this socket are not ours.
    if (about && view.status === 'starting' && message.type !== 'STARTED') return;
    switch (message.type) {
      case 'STARTED':
        adopt(about);
        view.status = 'running';
        view.error = null;
        break;
      case 'STATE':
        // Sent first on every subscribe: the session as stored, so a reconnect starts from the truth.
        applyStored({ status: message.status, processedFiles: message.processed, totalFiles: message.total, totalMatches: message.total_matches, error: message.error });
        // Matches recorded before this subscription took hold were never sent to us: read them from the results.
        if ((message.total_matches ?? 0) > view.matches.length) loadMatches(view.sessionId);
        break;
      case 'PROGRESS':
        view.status = view.status === 'completed' ? view.status : 'running';
        view.processed = message.processed ?? view.processed;
        view.total = message.total ?? view.total;
        view.value = message.value ?? (view.total ? Math.round((view.processed / view.total) * 100) : 0);
        break;
      case 'MATCH_FOUND': {
        const match = message.data ?? {};
        const key = `${match.hole_code}\u0000${match.file_name}`;
        if (!view.matchKeys.has(key)) {
          view.matchKeys.add(key);
          view.matches.push(match);
        }
        break;
      }
      case 'COMPLETE':
        view.status = 'completed';
        view.complete = message;
        view.processed = message.total_processed ?? view.processed;
        view.total = Math.max(view.total, view.processed);
        view.value = 100;
        if ((message.total_matches ?? 0) > view.matches.length) loadMatches(view.sessionId);
        break;
      case 'ERROR':
        view.status = view.complete ? view.status : 'error';
        view.error = { problem: { title: 'The scan reported an error', detail: message.message } };
        break;
      default:
        return;
    }
    draw();
  }

  async function start() {
    const targetCodes = codes.value.split(/[\s,;]+/).map(code => code.trim()).filter(Boolean);
    const chosen = [...files.files];
    replace(formResult);
    if (!targetCodes.length || !chosen.length) {
      replace(formResult, problemBox({ problem: { title: 'Nothing to scan', detail: 'Choose at least one file and one hole code.' } }));
      return;
    }
    reset();
    view.status = 'starting';
    draw();
    try {
      if (chosen.length === 1) {
        // The protocol scanner clients already speak: one manifest, ZIP or file, base64, over the socket; STARTED names
        // the session.
        live.send({
          action: 'start_scan',
          token: token.value || undefined,
          file_name: chosen[0].name,
          file_content: await toBase64(chosen[0]),
          target_hole_codes: targetCodes,
        });
      } else {
        const body = new FormData();
        for (const file of chosen) body.append('files', file, file.name);
        for (const code of targetCodes) body.append('targetHoleCodes', code);
        if (token.value) body.append('driveToken', token.value);
        const accepted = await api('/api/scan-sessions', { method: 'POST', form: body });
        adopt(accepted.id);
        view.status = 'running';
        draw();
      }
    } catch (error) {
      view.status = 'error';
      view.error = error;
      draw();
    }
  }

  function reset() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    Object.assign(view, { sessionId: null, processed: 0, total: 0, value: 0, matches: [], complete: null, error: null });
    view.matchKeys = new Set();
  }

  function applyStored(session) {
    view.status = String(session.status ?? 'running').toLowerCase();
    view.processed = session.processedFiles ?? view.processed;
    view.total = session.totalFiles ?? view.total;
    view.value = view.total ? Math.round((view.processed / view.total) * 100) : 0;
    if (view.status === 'completed')
      view.complete ??= { total_processed: view.processed, total_matches: session.totalMatches, download_url: null, message: 'Scan complete' };
    if (view.status === 'failed' && session.error)
      view.error = { problem: { title: 'The scan failed', detail: session.error } };
  }

  async function refreshStored(id) {
    applyStored(await api(`/api/scan-sessions/${encodeURIComponent(id)}`));
  }

  async function readMatches(id) {
    const results = await api(`/api/scan-sessions/${encodeURIComponent(id)}/results?matched=true&pageSize=500`);
    if (view.sessionId && view.sessionId !== id) return;
    for (const row of results.items ?? []) {
      for (const code of row.matchedCodes ?? []) {
        onMessage({ type: 'MATCH_FOUND', session_id: id, data: { hole_code: code, file_name: row.name, status: row.status, pdf_link: row.link } });
      }
    }
  }

  async function loadMatches(id) {
    if (!id) return;
    try {
      await readMatches(id);
    } catch (error) {
      view.error = error;
      draw();
    }
  }

  async function catchUp(id) {
    // After a reload: the stored state and matched files first, then live messages (a subscribe also replays STATE).
    try {
      await refreshStored(id);
      await readMatches(id);
    } catch (error) {
      view.error = error;
    }
    draw();
  }

  async function cancel() {
    try {
      await api(`/api/scan-sessions/${encodeURIComponent(view.sessionId)}/cancel`, { method: 'POST' });
      await refreshStored(view.sessionId);
    } catch (error) {
      view.error = error;
    }
    draw();
  }

  let unsubscribe = null;
  const stopListening = live.listen(onMessage);
  if (view.sessionId) {
    const id = view.sessionId;
    view.sessionId = null;
    adopt(id);
    catchUp(id);
  }
  draw();
  // Counters stay right while the socket is down; matches catch up from the results on the next subscribe or reload.
  const stopPolling = every(3000, async () => {
    if (view.sessionId && !live.isOpen && !finished(view.status)) {
      await refreshStored(view.sessionId);
      draw();
    }
  });
  return () => { stopPolling(); stopListening(); if (unsubscribe) unsubscribe(); };
}

function toBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

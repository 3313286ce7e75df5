import { api, download } from '../api.js';
import { live } from '../live.js';
import { runTimeline } from '../timeline.js';
import { el, replace, problemBox, showProblem, statusBadge, progressBar, table, pager, number, dateTime, duration, idCell, fullId, every } from '../ui.js';

export const title = 'Scan';
const lastSessionKey = 'sagas.scan.lastSession';
const sessionStatuses = ['dispatching', 'scanning', 'reporting', 'completed', 'failed', 'cancelled'];
const finished = status => ['completed', 'failed', 'cancelled'].includes(status);
// Matches shown while a scan runs; the count covers them all, and the full list pages from the API once it ends.
const liveTail = 100;
const resultsPageSize = 100;
const createdWithin = [['', 'any time'], ['1', 'in the last hour'], ['24', 'in the last 24 hours'], ['168', 'in the last 7 days']];

export function render(main, [sessionId]) {
  const view = {
    sessionId: sessionId || null,
    processed: 0,
    total: 0,
    value: 0,
    // Pages read with OCR so far and their summed time, from PROGRESS.
    ocrPages: 0,
    ocrSeconds: 0,
    // The API's words for a session (dispatching, scanning, reporting, completed, failed, cancelled); before a session
    // exists the page says idle, starting or connecting, and "not started" when the API refused to start one.
    status: sessionId ? 'connecting' : 'idle',
    // While the scan runs: the latest matches only (a bounded tail), and the count of every match.
    tail: [],
    matchKeys: new Set(),
    matchCount: 0,
    // Once it has finished: the matched files a page at a time from the API.
    results: null,
    resultsPage: 1,
    complete: null,
    error: null,
  };

  const statusArea = el('div', { 'data-testid': 'scan-status' });
  const progressArea = el('div');
  const resultArea = el('div', { 'data-testid': 'scan-complete' });
  const matchCount = el('span.count', { 'data-testid': 'match-count' });
  const matchesHint = el('p.hint');
  const matchesArea = el('div', { 'data-testid': 'scan-matches' });
  const matchesTable = el('div.scroll');
  const matchesPager = el('div');
  matchesArea.append(matchesTable, matchesPager);
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

  const sessions = sessionList(() => view.sessionId);
  const timelineSlot = el('div', {}, sessionId ? runTimeline('scan-sessions', sessionId) : null);
  main.append(
    el('h1', {}, 'Scan'),
    el('div.columns', {},
      el('section.card', {}, el('h2', {}, 'Start a scan'), form),
      el('section.card', {}, el('h2', {}, 'Progress'), statusArea, progressArea, resultArea)),
    sessions.card,
    el('section.card', {}, el('div.toolbar', {}, el('h2', {}, 'Matches'), matchCount), matchesHint, matchesArea),
    timelineSlot);

  // Messages arrive by the thousand on a big scan: they only change the view, and the page is drawn at most once per
  // animation frame, so the main thread never queues more work than one frame's worth.
  let frame = 0;
  let tailChanged = true;
  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }
  // The count and the progress bar follow every frame; the table of the latest matches, the one costly part of a frame
  // (a hundred rows built and laid out), is rebuilt at most four times a second, which a reader cannot outpace.
  const tailInterval = 250;
  let tailDrawnAt = -Infinity;
  let tailTimer = 0;

  // The status and the completion areas hold buttons: they are drawn again only when what they show changes, so a
  // click is never lost to a redraw.
  let drawnStatus = null;
  let drawnComplete;
  function draw() {
    const statusShown = [view.sessionId, view.status, view.error];
    if (!drawnStatus || statusShown.some((value, i) => value !== drawnStatus[i])) {
      drawnStatus = statusShown;
      replace(statusArea,
        view.sessionId ? el('p', {}, 'Session ', el('span', { 'data-testid': 'scan-session-id' }, fullId(view.sessionId)), ' ', statusBadge(view.status)) : el('p', {}, statusBadge(view.status)),
        view.error ? problemBox(view.error) : null,
        view.sessionId && !finished(view.status) ? el('button.danger', { type: 'button', onclick: cancel }, 'Cancel scan') : null);
    }
    replace(progressArea, view.status === 'idle' ? null : progressBar(view.processed, view.total,
      view.total ? `${number(view.processed)} / ${number(view.total)} files (${view.value}%)${ocrSummary()}` : 'Waiting for the first progress…'));
    matchCount.textContent = view.status === 'idle' ? '' : `${number(view.matchCount)} ${view.matchCount === 1 ? 'match' : 'matches'}`;
    if (view.results) {
      if (drawnResults !== view.results) {
        drawnResults = view.results;
        drawResults();
      }
    } else if (tailChanged && !tailTimer && performance.now() < tailDrawnAt + tailInterval) {
      tailTimer = setTimeout(() => { tailTimer = 0; schedule(); }, tailDrawnAt + tailInterval - performance.now());
    } else if (tailChanged && !tailTimer) {
      tailDrawnAt = performance.now();
      tailChanged = false;
      matchesHint.textContent = view.matchCount > view.tail.length
        ? `The latest ${number(view.tail.length)} of ${number(view.matchCount)} matches, newest first; when the scan ends every match is listed here a page at a time.`
        : '';
      replace(matchesPager);
      replace(matchesTable, table([
        { title: 'Hole code', render: m => codeCell(m.hole_code, m.ocr_confidence) },
        { title: 'File', render: m => m.file_name },
        { title: 'Status', render: m => m.status },
        { title: 'Link', render: m => m.pdf_link ? el('a', { href: m.pdf_link, target: '_blank', rel: 'noopener noreferrer' }, 'open') : '—' },
      ], view.tail, { empty: 'No matches yet.', testid: 'matches-table' }));
    }
    if (drawnComplete !== view.complete) {
      drawnComplete = view.complete;
      const c = view.complete;
      if (c) {
        replace(resultArea,
          el('p.ok', {}, c.message ?? 'Scan complete', ` · ${number(c.total_processed)} files · ${number(c.total_matches)} matches`),
          el('button', { type: 'button', id: 'scan-download', onclick: downloadReport }, 'Download report (.xlsx)'));
      } else {
        replace(resultArea);
      }
    }
  }

  function ocrSummary() {
    return view.ocrPages ? ` · OCR ${number(view.ocrPages)} ${view.ocrPages === 1 ? 'page' : 'pages'}, ${view.ocrSeconds.toFixed(1)} s` : '';
  }

  let drawnResults = null;
  function drawResults() {
    const page = view.results;
    matchesHint.textContent = page.total ? `${number(page.total)} matched ${page.total === 1 ? 'file' : 'files'}, in file order.` : '';
    matchesTable.scrollTop = 0;
    replace(matchesPager, page.total > page.pageSize ? pager(page.page, page.pageSize, page.total, next => loadResults(view.sessionId, next), { testid: 'matches-pager' }) : null);
    replace(matchesTable,
      table([
        { title: 'File', render: r => r.name },
        { title: 'Hole codes', render: r => r.matchedCodes.map((code, i) => [i ? ' ' : null, codeCell(code, r.ocrMatches?.find(m => m.code === code)?.confidence)]) },
        { title: 'Status', render: r => r.status },
        { title: 'Link', render: r => r.link ? el('a', { href: r.link, target: '_blank', rel: 'noopener noreferrer' }, 'open') : '—' },
      ], page.items, { empty: 'No matches.', testid: 'matches-table' }));
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
    replace(timelineSlot, runTimeline('scan-sessions', id));
    unsubscribe = live.subscribe({ action: 'subscribe', session_id: id });
    sessions.refresh();
  }

  function onMessage(message) {
    const about = message.session_id ?? message.sessionId ?? message.data?.session_id;
    if (about && view.sessionId && about !== view.sessionId) return;
    // Between start_scan and STARTED, messages of an earlier session on this socket are not ours.
    if (about && view.status === 'starting' && message.type !== 'STARTED') return;
    switch (message.type) {
      case 'STARTED':
        adopt(about);
        view.status = 'dispatching';
        view.error = null;
        break;
      case 'STATE':
        // Sent first on every subscribe: the session as stored, so a reconnect starts from the truth.
        applyStored({ status: message.status, processedFiles: message.processed, totalFiles: message.total, totalMatches: message.total_matches, error: message.error });
        break;
      case 'PROGRESS':
        view.processed = message.processed ?? view.processed;
        view.total = message.total ?? view.total;
        view.value = message.value ?? (view.total ? Math.round((view.processed / view.total) * 100) : 0);
        view.ocrPages = message.ocr_pages ?? view.ocrPages;
        view.ocrSeconds = message.ocr_seconds ?? view.ocrSeconds;
        if (!finished(view.status)) view.status = view.total && view.processed >= view.total ? 'reporting' : 'scanning';
        break;
      case 'MATCH_FOUND': {
        const match = message.data ?? {};
        const key = `${match.hole_code}\u0000${match.file_name}`;
        if (view.matchKeys.has(key)) return;
        view.matchKeys.add(key);
        view.matchCount += 1;
        view.tail.unshift(match);
        if (view.tail.length > liveTail) view.tail.length = liveTail;
        tailChanged = true;
        break;
      }
      case 'COMPLETE':
        view.status = 'completed';
        view.complete = message;
        view.processed = message.total_processed ?? view.processed;
        view.total = Math.max(view.total, view.processed);
        view.value = 100;
        view.matchCount = message.total_matches ?? view.matchCount;
        break;
      case 'ERROR':
        view.error = { problem: { title: view.sessionId ? 'The scan reported an error' : 'The scan was not started', detail: message.message } };
        // The message says why; the stored session says what became of it, in the API's words.
        if (view.sessionId && !view.complete) refreshStored(view.sessionId).then(schedule, () => {});
        else if (!view.sessionId) view.status = 'not started';
        break;
      default:
        return;
    }
    ensureResults();
    schedule();
  }

  // A finished session lists its matched files from the API, once: the STATE replay and the reload's read both land here.
  let resultsAsked = false;
  function ensureResults() {
    if (!finished(view.status) || resultsAsked || !view.sessionId) return;
    resultsAsked = true;
    loadResults(view.sessionId, 1);
    sessions.refresh();
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
    schedule();
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
        if (view.status === 'starting') view.status = 'dispatching';
        schedule();
      }
    } catch (error) {
      view.status = 'not started';
      view.error = error;
      schedule();
    }
  }

  function reset() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    Object.assign(view, { sessionId: null, processed: 0, total: 0, value: 0, ocrPages: 0, ocrSeconds: 0, tail: [], matchCount: 0, results: null, resultsPage: 1, complete: null, error: null });
    view.matchKeys = new Set();
    tailChanged = true;
    resultsAsked = false;
    resultsGeneration += 1;
  }

  function applyStored(session) {
    view.status = String(session.status ?? 'scanning').toLowerCase();
    view.processed = session.processedFiles ?? view.processed;
    view.total = session.totalFiles ?? view.total;
    view.value = view.total ? Math.round((view.processed / view.total) * 100) : 0;
    view.ocrPages = session.ocrPages ?? view.ocrPages;
    view.ocrSeconds = session.ocrSeconds ?? view.ocrSeconds;
    // Matches recorded before this page subscribed were never sent to it: the stored count covers them.
    view.matchCount = Math.max(view.matchCount, session.totalMatches ?? 0);
    if (finished(view.status)) view.matchCount = session.totalMatches ?? view.matchCount;
    tailChanged = true;
    if (view.status === 'completed')
      view.complete ??= { total_processed: view.processed, total_matches: session.totalMatches, download_url: null, message: 'Scan complete' };
    if (view.status === 'failed' && session.error)
      view.error = { problem: { title: 'The scan failed', detail: session.error } };
  }

  async function refreshStored(id) {
    applyStored(await api(`/api/scan-sessions/${encodeURIComponent(id)}`));
    ensureResults();
  }

  // The latest request wins: a page asked for while another is in flight paints, the older answer does not.
  let resultsGeneration = 0;
  async function loadResults(id, page) {
    if (!id) return;
    const mine = ++resultsGeneration;
    try {
      const query = new URLSearchParams({ matched: 'true', page, pageSize: resultsPageSize });
      const results = await api(`/api/scan-sessions/${encodeURIComponent(id)}/results?${query}`);
      if (mine !== resultsGeneration || view.sessionId !== id) return;
      view.results = results;
      view.resultsPage = page;
    } catch (error) {
      if (mine !== resultsGeneration) return;
      view.error = error;
    }
    schedule();
  }

  async function catchUp(id) {
    // After a reload: the stored state first (finished sessions then page their matched files), then live messages
    // (a subscribe also replays STATE).
    try {
      await refreshStored(id);
    } catch (error) {
      view.error = error;
    }
    schedule();
  }

  async function cancel() {
    try {
      await api(`/api/scan-sessions/${encodeURIComponent(view.sessionId)}/cancel`, { method: 'POST' });
      await refreshStored(view.sessionId);
    } catch (error) {
      view.error = error;
    }
    schedule();
    sessions.refresh();
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
  // Counters stay right while the socket is down; the matches list catches up when the session ends.
  const stopPolling = every(3000, async () => {
    if (view.sessionId && !live.isOpen && !finished(view.status)) {
      await refreshStored(view.sessionId);
      schedule();
    }
  });
  return () => { stopPolling(); stopListening(); sessions.stop(); if (frame) cancelAnimationFrame(frame); clearTimeout(tailTimer); if (unsubscribe) unsubscribe(); };
}

/**
 * A matched code; one that only OCR found carries a marker with Tesseract's confidence, so a reader knows which matches
 * came from a scanned page or image and how sure the reading was.
 */
function codeCell(code, ocrConfidence) {
  if (ocrConfidence === null || ocrConfidence === undefined) return el('code', {}, code);
  return el('span.nowrap', {}, el('code', {}, code), ' ',
    el('span.marker', { 'data-testid': 'ocr-marker', title: `Found by OCR in a scanned page or image, confidence ${Math.round(ocrConfidence * 100)} %` }, `OCR ${Math.round(ocrConfidence * 100)}%`));
}

/** Every session, newest first, filtered by status and by when it was created; a row opens its session. */
function sessionList(currentId) {
  const state = { status: sessionStorage.getItem('sagas.scan.listStatus') || '', within: sessionStorage.getItem('sagas.scan.listWithin') || '', page: 1, pageSize: 10 };
  const area = el('div', { 'data-testid': 'scans-list' });
  const status = el('select', { id: 'scan-list-status', 'aria-label': 'Status', onchange: () => {
    state.status = status.value; sessionStorage.setItem('sagas.scan.listStatus', status.value); state.page = 1; load();
  } }, el('option', { value: '' }, 'All statuses'), sessionStatuses.map(s => el('option', { value: s, selected: s === state.status }, s)));
  const within = el('select', { id: 'scan-list-within', 'aria-label': 'Created', onchange: () => {
    state.within = within.value; sessionStorage.setItem('sagas.scan.listWithin', within.value); state.page = 1; load();
  } }, createdWithin.map(([value, label]) => el('option', { value, selected: value === state.within }, label)));
  const card = el('section.card', {},
    el('div.toolbar', {}, el('h2', {}, 'Scans'), el('label', {}, 'Status ', status), el('label', {}, 'Created ', within),
      el('button.secondary', { type: 'button', onclick: () => load() }, 'Refresh')),
    area);

  let generation = 0;
  let anyActive = false;
  async function load() {
    const mine = ++generation;
    try {
      const query = new URLSearchParams({ page: state.page, pageSize: state.pageSize });
      if (state.status) query.set('status', state.status);
      if (state.within) query.set('createdAfter', new Date(Date.now() - Number(state.within) * 3_600_000).toISOString());
      const page = await api(`/api/scan-sessions?${query}`);
      if (mine !== generation) return;
      replace(area,
        table([
          { title: 'Session', render: s => idCell(s.id, `#/scan/${s.id}`) },
          { title: 'Status', render: s => statusBadge(s.status) },
          { title: 'Files', className: 'number', render: s => s.totalFiles === null ? number(s.processedFiles) : `${number(s.processedFiles)} / ${number(s.totalFiles)}` },
          { title: 'Matches', className: 'number', render: s => number(s.totalMatches) },
          { title: 'Errors', className: 'number', render: s => number(s.errorFiles) },
          { title: 'Created', render: s => dateTime(s.createdAt) },
          { title: 'Finished', render: s => dateTime(s.completedAt) },
          { title: 'Duration', className: 'number', render: s => finished(s.status) ? duration(s.createdAt, s.completedAt) : '—' },
        ], page.items, { empty: 'No scans match.', testid: 'scans-table', rowClass: s => s.id === currentId() ? 'current' : null }),
        pager(page.page, page.pageSize, page.total, next => { state.page = next; load(); }, { testid: 'scans-pager' }));
      anyActive = page.items.some(s => !finished(s.status));
    } catch (error) {
      if (mine === generation) {
        showProblem(area, error);
        anyActive = false;
      }
    }
  }

  // The list refreshes on its own only while a session on screen is still running.
  const stop = every(5000, async () => { if (anyActive || !area.childElementCount) await load(); });
  return { card, refresh: () => load(), stop };
}

function toBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

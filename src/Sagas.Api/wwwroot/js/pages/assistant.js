import { streamApi } from '../api.js';
import { el, replace, problemBox } from '../ui.js';
import { renderMarkdown } from '../markdown.js';

export const title = 'Assistant';

export function render(main) {
  const answerArea = el('div', { 'data-testid': 'assistant-answer', 'aria-live': 'polite' });
  const question = el('textarea', { name: 'prompt', id: 'assistant-prompt', rows: 3, required: true,
    placeholder: 'How many LLM jobs failed this week? Which scan sessions are still running?' });
  const form = el('form', { id: 'assistant-form', onsubmit: async event => {
    event.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    await ask(answerArea, question.value);
    button.disabled = false;
  } },
  el('label', {}, 'Ask about jobs, scan sessions, analyses, costs and brand visibility', question),
  el('button', { type: 'submit' }, 'Ask'));

  main.append(
    el('h1', {}, 'Assistant'),
    el('section.card', {}, el('p.hint', {}, 'The assistant answers from this system\'s own data through read-only tools; every tool it called is listed under its answer.'), form),
    el('section.card', {}, answerArea));
}

/** Streams the answer: tool calls appear as the model makes them, the text renders as it is written. */
async function ask(answerArea, prompt) {
  const status = el('div.hint', { 'data-testid': 'assistant-status' }, 'Thinking…');
  const text = el('div.answer.markdown', { 'data-testid': 'assistant-text' });
  const live = el('div', { 'data-testid': 'assistant-live-calls' });
  replace(answerArea, status, text, live);
  const running = new Map();
  let written = '';

  try {
    await streamApi('/ai/ask', { json: { prompt }, onEvent(type, data) {
      if (type === 'tool_call') {
        status.textContent = `Calling ${data.name}…`;
        const item = el('p.hint', {}, el('code', {}, data.name), ' ', el('small', {}, JSON.stringify(data.arguments ?? {})), ' · running');
        running.set(data.id, item);
        live.append(item);
      } else if (type === 'tool_result') {
        const item = running.get(data.id);
        if (item) item.lastChild.textContent = data.error ? ` · ${data.error}` : ' · done';
      } else if (type === 'token') {
        written += data.text;
        status.textContent = 'Writing…';
        replace(text, renderMarkdown(written));
      } else if (type === 'done') {
        replace(text, renderMarkdown(data.answer ?? ''));
        replace(status, data.simulated ? 'Simulated assistant (no language model configured): the answer is composed from the tool results.' : `Model ${data.model}`,
          data.rounds ? ` · ${data.rounds} round${data.rounds === 1 ? '' : 's'}` : '');
        replace(live, toolCalls(data.toolCalls ?? []));
      } else if (type === 'error') {
        // What was written before the failure stays, marked as incomplete.
        replace(text, renderMarkdown(data.partialAnswer ?? written));
        replace(status, problemBox({ problem: { title: data.title, detail: data.detail, status: data.status } }));
      }
    } });
  } catch (error) {
    replace(answerArea, problemBox(error));
  }
}

function toolCalls(calls) {
  if (!calls.length) return el('p.hint', {}, 'No tools were called for this answer.');
  return el('div', {}, el('h3', {}, `Tool calls (${calls.length})`),
    calls.map(call => el('details.tool-call', { 'data-testid': 'tool-call' },
      el('summary', {}, el('code', {}, call.name), ' ', el('small', {}, JSON.stringify(call.arguments ?? {})),
        call.error ? el('span.error-text', {}, ' · ', call.error) : null),
      call.error ? null : el('pre', {}, JSON.stringify(call.result ?? null, null, 2)))));
}

// The assistant's answers are Markdown-ish text from a language model. This renders the small part of Markdown a
// model's answer uses (headings, paragraphs, bullet and numbered lists, tables, code, bold, italic) as DOM nodes built
// with textContent only: nothing the model writes is ever parsed as HTML, so a tag in an answer shows as text. Links
// stay text too, so an answer cannot send a click anywhere. No library: the dashboard loads nothing from elsewhere.

const numberCell = /^[-+]?[$€£]?\d[\d,. ]*(%|\s?[kKmM]|\s?USD)?$/;

/** A <div> holding the rendered answer. Unfinished syntax (a stream cut mid-table) renders as well as it can. */
export function renderMarkdown(text) {
  const root = document.createElement('div');
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }

    if (line.trimStart().startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith('```'); i++) code.push(lines[i]);
      i++;
      const pre = document.createElement('pre');
      pre.append(node('code', code.join('\n')));
      root.append(pre);
      continue;
    }

    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      root.append(inline(document.createElement(`h${Math.min(heading[1].length + 2, 6)}`), heading[2]));
      i++;
      continue;
    }

    if (isTableRow(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      const rows = [];
      const alignments = cells(lines[i + 1]).map(c => c.endsWith(':') ? 'right' : null);
      rows.push(cells(line));
      for (i += 2; i < lines.length && isTableRow(lines[i]); i++) rows.push(cells(lines[i]));
      root.append(table(rows, alignments));
      continue;
    }

    const listItem = /^\s*([-*+]|\d+[.)])\s+/;
    if (listItem.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = document.createElement(ordered ? 'ol' : 'ul');
      for (; i < lines.length && listItem.test(lines[i]) && /^\s*\d/.test(lines[i]) === ordered; i++)
        list.append(inline(document.createElement('li'), lines[i].replace(listItem, '')));
      root.append(list);
      continue;
    }

    const paragraph = [];
    for (; i < lines.length && lines[i].trim() && !/^(#{1,4}\s|\s*([-*+]|\d+[.)])\s|\s*```)/.test(lines[i]) && !isTableRow(lines[i]); i++)
      paragraph.push(lines[i].trim());
    if (!paragraph.length) paragraph.push(lines[i++].trim());
    root.append(inline(document.createElement('p'), paragraph.join(' ')));
  }
  return root;
}

function isTableRow(line) {
  const trimmed = line.trim();
  return trimmed.startsWith('|') && trimmed.length > 1;
}

function cells(line) {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map(c => c.trim());
}

function table(rows, alignments) {
  const tableNode = document.createElement('table');
  const head = document.createElement('thead');
  const headRow = document.createElement('tr');
  for (const cell of rows[0]) headRow.append(inline(document.createElement('th'), cell));
  head.append(headRow);
  const body = document.createElement('tbody');
  for (const row of rows.slice(1)) {
    const tr = document.createElement('tr');
    row.forEach((cell, index) => {
      const td = inline(document.createElement('td'), cell);
      // Figures line up when right-aligned in tabular digits.
      if (alignments[index] === 'right' || numberCell.test(cell)) td.className = 'num';
      tr.append(td);
    });
    body.append(tr);
  }
  tableNode.append(head, body);
  return tableNode;
}

/** **bold**, *italic* / _italic_ and `code` inside a line; everything else is text. */
function inline(parent, text) {
  const pattern = /(\*\*([^*]+)\*\*|`([^`]+)`|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    if (match[2] !== undefined) parent.append(node('strong', match[2]));
    else if (match[3] !== undefined) parent.append(node('code', match[3]));
    else parent.append(node('em', match[4] ?? match[5]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
  return parent;
}

function node(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

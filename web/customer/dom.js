// Small DOM helpers shared by the page's modules.

export const $ = (id) => document.getElementById(id);

export function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

// Fills <table> `t`. Each column is a title, or [title, class of its cells]
// ("num", "date", "id"). A row is an array of cells, or {className, cells};
// a cell is text or a Node. A row of one cell is a note across the table.
export function fillTable(t, columns, rows) {
  const titles = columns.map((c) => (Array.isArray(c) ? c[0] : c));
  const classes = columns.map((c) => (Array.isArray(c) ? c[1] : ""));
  t.replaceChildren();
  const thead = el("thead");
  const tr = el("tr");
  titles.forEach((title, i) => {
    const th = el("th", title, classes[i]);
    th.scope = "col";
    tr.appendChild(th);
  });
  thead.appendChild(tr);
  t.appendChild(thead);
  const tbody = el("tbody");
  rows.forEach((row) => {
    const r = el("tr", undefined, row.className || "");
    const cells = row.cells || row;
    cells.forEach((cell, i) => {
      const td = el("td", undefined, classes[i]);
      // A phone shows each row as a card of label: value.
      if (cells.length === 1) td.colSpan = titles.length;
      else td.dataset.label = titles[i];
      if (cell instanceof Node) td.appendChild(cell);
      else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      r.appendChild(td);
    });
    tbody.appendChild(r);
  });
  t.appendChild(tbody);
}

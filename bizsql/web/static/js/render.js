// Answers as DOM. Every value from the API goes in as text (textContent, never as markup), so a row that
// holds markup shows that markup; the page's CSP would refuse any script that slipped through anyway.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SOURCE_LABEL = { verified: "verified query", llm: "generated", generated: "generated" };

export function userMessage(text) {
  return el("article", { class: "msg user", "aria-label": "You asked" }, el("p", { text }));
}

const STEP_DONE = {
  load_context: "Read the conversation",
  match_verified: "Looked for a verified answer",
  classify: "Understood the question",
  answer_general: "Answered",
  retrieve_schema: "Found the tables",
  generate_sql: "Wrote the SQL",
  validate: "Checked the SQL",
  execute: "Ran the query",
  respond: "Wrote the answer",
  persist: "Saved the conversation",
};

// a bubble that fills in as the stream arrives: the steps done, then the answer's tokens; `finish`
// replaces it with the whole answer
export function pendingAnswer() {
  const steps = el("ol", { class: "progress-steps", "aria-label": "Progress" });
  const plan = el("ol", { class: "plan", "aria-label": "Plan", hidden: true });
  const text = el("p", { class: "summary" });
  const node = el("article", { class: "msg assistant pending", "aria-busy": "true" }, steps, plan, text);
  const done = [];
  return {
    node,
    step(name) {
      done.push(name);
      steps.append(stepItem(name));
    },
    // a planned turn: its steps as a list that marks each one as it starts and ends
    plan(questions) {
      plan.replaceChildren(...questions.map((q, i) => el("li", { "data-step": String(i) }, q)));
      plan.hidden = false;
    },
    stepState(index, status) {
      const item = plan.querySelector(`[data-step="${index}"]`);
      if (item) item.dataset.state = status;
    },
    append(chunk) {
      text.textContent += chunk;
    },
    finish(result, actions) {
      node.replaceWith(answer(result, done, actions));
    },
    fail(message) {
      node.classList.remove("pending");
      node.removeAttribute("aria-busy");
      text.replaceWith(el("p", { class: "error", text: message }));
    },
  };
}

function stepItem(name) {
  return el("li", { "data-node": name }, STEP_DONE[name] || name);
}

// the steps the graph took, kept small under the answer: what was checked, and in which order
function trace(nodes) {
  return el("details", { class: "trace" }, el("summary", {}, `How this was answered (${nodes.length} steps)`),
    el("ol", { class: "progress-steps" }, nodes.map(stepItem)));
}

// `actions.decide(decision)`: how the page approves or rejects a pending write (a Promise of the next
// answer); without it no buttons are drawn
export function answer(result, nodes = [], actions = {}) {
  const parts = [el("p", { class: "summary", text: result.answer || "" })];
  const why = result.error ? refusal(result.error) : "";
  if (why && !(result.answer || "").includes(why)) parts.push(el("p", { class: "error", role: "alert", text: why }));
  const steps = Array.isArray(result.steps) && result.steps.length > 1 ? result.steps : null;
  if (steps) {
    if (result.chart) parts.push(chartBox(result.chart));
    steps.forEach((step, i) => parts.push(stepBlock(step, i)));
  } else if (result.sql || result.columns?.length) {
    parts.push(...dataParts(result));
  }
  const pending = result.intent === "approval_required" && result.approval?.status === "pending";
  if (pending) {
    const sql = parts.find((part) => part.classList?.contains("sql"));
    if (sql) sql.open = true; // the statement that would run is what a person decides on
    if (actions.decide) parts.push(approvalBox(result, actions));
  }
  parts.push(meta(result));
  if (nodes.length) parts.push(trace(nodes));
  return el("article", { class: "msg assistant", "aria-label": "Answer" }, parts);
}

// a write that waits for a person's yes: what it would change, until when, and the two buttons
function approvalBox(result, actions) {
  const approval = result.approval;
  const until = new Date(approval.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const info = el("p", { text: `Run it? The request stays open until ${until}.` });
  const approve = el("button", { type: "button", class: "approve" }, "Approve and run");
  const reject = el("button", { type: "button", class: "reject secondary" }, "Reject");
  const status = el("p", { class: "meta", role: "status" });
  const box = el("div", { class: "approval", role: "group", "aria-label": "Approve this write" },
    info, el("div", { class: "buttons" }, approve, reject), status);
  async function decide(decision) {
    approve.disabled = reject.disabled = true;
    status.textContent = decision === "approve" ? "Running the write…" : "Rejecting…";
    try {
      const next = await actions.decide(decision, approval.approval_id);
      box.closest("article").replaceWith(answer(next, [], actions));
    } catch (error) {
      status.textContent = actions.explain ? actions.explain(error) : error.message;
      approve.disabled = reject.disabled = false;
    }
  }
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  return box;
}

// a message from a saved conversation: its text, and the SQL it ran (the rows are not kept)
export function savedMessage(message) {
  if (message.role === "user") return userMessage(message.content);
  const parts = [el("p", { class: "summary", text: message.content })];
  if (Array.isArray(message.steps) && message.steps.length > 1) {
    message.steps.forEach((step, i) => {
      parts.push(el("h3", { text: `Step ${i + 1}: ${step.question || ""}` }));
      if (step.sql) parts.push(sqlPanel(step.sql));
    });
  } else if (message.sql) {
    parts.push(sqlPanel(message.sql));
    if (message.row_count !== null && message.row_count !== undefined) {
      parts.push(el("p", { class: "meta", text: `${message.row_count} row(s) at the time; ask again to see them` }));
    }
  }
  return el("article", { class: "msg assistant", "aria-label": "Answer" }, parts);
}

function stepBlock(step, index) {
  const title = el("h3", { text: `Step ${index + 1}: ${step.question || ""}` });
  const body = step.error
    ? [el("p", { class: "error", text: `This step failed: ${refusal(step.error)}` }), ...(step.sql ? [sqlPanel(step.sql)] : [])]
    : dataParts(step);
  return el("section", { class: "step", "aria-label": `Step ${index + 1}` }, title, body);
}

function dataParts(result) {
  const parts = [];
  if (result.chart) parts.push(chartBox(result.chart));
  if (result.columns?.length) parts.push(table(result));
  if (result.sql) parts.push(sqlPanel(result.sql));
  return parts;
}

function refusal(error) {
  if (typeof error === "string") return error;
  return error.detail || error.message || error.code || JSON.stringify(error);
}

function meta(result) {
  const bits = [];
  if (result.source) bits.push(`Source: ${SOURCE_LABEL[result.source] || result.source}`);
  if (typeof result.confidence === "number" && !result.error) bits.push(`Confidence: ${Math.round(result.confidence * 100)} %`);
  if (typeof result.row_count === "number" && result.columns?.length) bits.push(`${result.row_count} row(s)`);
  return el("p", { class: "meta" }, bits.join(" · "));
}

// ---- the table: sortable by any column, with truncation said plainly, and a CSV of what it shows

function table(result) {
  const columns = result.columns;
  let rows = result.rows.slice();
  let sorted = { column: -1, ascending: true };
  const body = el("tbody");
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const headers = columns.map((name, i) =>
    el("th", { scope: "col", "aria-sort": "none", class: numeric[i] ? "num" : false },
      el("button", { type: "button", onclick: () => sortBy(i), "aria-label": `${name}: sort` }, name)),
  );

  function fill() {
    body.replaceChildren(
      ...rows.map((row) => el("tr", {}, row.map((value) => el("td", { class: cellClass(value) }, cellText(value))))),
    );
  }

  function sortBy(i) {
    const ascending = sorted.column === i ? !sorted.ascending : true;
    sorted = { column: i, ascending };
    rows = rows.slice().sort((a, b) => compare(a[i], b[i]) * (ascending ? 1 : -1));
    headers.forEach((th, j) => th.setAttribute("aria-sort", j === i ? (ascending ? "ascending" : "descending") : "none"));
    fill();
  }

  fill();
  const parts = [
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Result rows" },
      el("table", {}, el("thead", {}, el("tr", {}, headers)), body)),
  ];
  const notes = [];
  if (result.truncated) {
    const why = result.truncated_by ? ` (${String(result.truncated_by).replace(/_/g, " ")})` : "";
    notes.push(el("p", { class: "truncated", role: "note" },
      `Truncated${why}: showing ${result.rows.length} of more rows. Narrow the question to see the rest.`));
  }
  if (result.values_cut) {
    notes.push(el("p", { class: "truncated", role: "note" }, `${result.values_cut} long value(s) were shortened.`));
  }
  const csv = el("button", { type: "button", class: "secondary", onclick: () => download(columns, rows) }, "Download CSV");
  return el("div", { class: "result" }, parts, notes, el("div", { class: "actions" }, csv));
}

function cellText(value) {
  if (value === null || value === undefined) return "∅";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function cellClass(value) {
  if (value === null || value === undefined) return "null";
  return typeof value === "number" ? "num" : "";
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1; // empty values last
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function csvCell(value) {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  // a spreadsheet runs a cell that starts like a formula: make such text plain (OWASP's CSV injection)
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function download(columns, rows) {
  const lines = [columns, ...rows].map((row) => row.map(csvCell).join(","));
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "bizsql-result.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ---- the SQL, collapsible, with a copy button

export function sqlPanel(sql) {
  const status = el("span", { class: "copied", role: "status" });
  const copy = el("button", {
    type: "button",
    class: "secondary",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(sql);
        status.textContent = "Copied";
      } catch {
        status.textContent = "Copy failed: select the text instead";
      }
      setTimeout(() => (status.textContent = ""), 2500);
    },
  }, "Copy SQL");
  return el("details", { class: "sql" },
    el("summary", {}, "SQL"),
    el("pre", {}, el("code", { text: sql })),
    el("div", { class: "actions" }, copy, status));
}

// ---- the chart: the answer's Vega-Lite spec, drawn on a canvas with Vega's expression interpreter
// (no eval, so the CSP needs no 'unsafe-eval'); a spec that fails to draw says so instead of a blank box

function chartBox(spec) {
  const title = titleOf(spec); // as a caption, which wraps on a phone where Vega's own title is cut
  const { title: _, ...untitled } = spec;
  const box = el("figure", { class: "chart", "aria-label": title ? `Chart: ${title}` : "Chart" });
  requestAnimationFrame(() => draw(box, untitled, title)); // once the box is in the page, so it has a width
  return box;
}

function titleOf(spec) {
  return typeof spec.title === "string" ? spec.title : spec.title?.text || "";
}

async function draw(box, spec, title) {
  if (!window.vegaEmbed || !window.vegaInterpreter) {
    box.replaceChildren(el("figcaption", { class: "error", text: "The chart library did not load." }));
    return;
  }
  try {
    const view = el("div", { class: "chart-view" });
    box.replaceChildren(...(title ? [el("figcaption", { text: title })] : []), view);
    await window.vegaEmbed(view, { ...spec, width: "container", autosize: { type: "fit-x", contains: "padding" } }, {
      renderer: "canvas",
      actions: false,
      ast: true,
      expr: window.vegaInterpreter.expressionInterpreter,
      defaultStyle: false,
      tooltip: false,
    });
    box.dataset.drawn = "true";
  } catch (error) {
    box.replaceChildren(el("figcaption", { class: "error", text: `The chart could not be drawn: ${error.message}` }));
  }
}

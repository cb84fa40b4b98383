// The page's state and events: sign in, pick a business (admins), list, open, start and delete
// conversations, and ask over /chat/stream with progress as each step of the graph ends.

import { ApiError, Session, streamEvents } from "./api.js";
import { answer, el, pendingAnswer, savedMessage, userMessage } from "./render.js";

// what the page says while a turn runs: each `node` event is a step that just ended, and what comes next
const NEXT = {
  load_context: "Looking for a verified answer…",
  match_verified: "Understanding the question…",
  classify: "Finding tables…",
  retrieve_schema: "Writing SQL…",
  generate_sql: "Checking the SQL…",
  validate: "Running the query…",
  execute: "Writing the answer…",
  respond: "Saving the conversation…",
  answer_general: "Saving the conversation…",
  propose_write: "Waiting for your approval…",
  gather_steps: "Working through the plan…",
  combine: "Saving the conversation…",
};
const PAGE_SIZE = 30;
const GENERAL = ""; // an admin's conversation with no business

const $ = (id) => document.getElementById(id);
const session = new Session((reason) => showLogin(reason));
const state = { threadId: null, business: GENERAL, businesses: [], offset: 0, busy: false };

// ---- views

function showLogin(reason = "") {
  $("chat-view").hidden = true;
  $("login-view").hidden = false;
  $("messages").replaceChildren();
  $("thread-list").replaceChildren();
  state.threadId = null;
  const error = $("login-error");
  error.textContent = reason;
  error.hidden = !reason;
  $("password").value = "";
  $("username").focus();
}

async function showChat() {
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  const user = session.user;
  $("who").textContent = `${user.username} (${user.role})`;
  $("message").focus();
  await loadBusinesses();
  await loadThreads();
}

function notice(message) {
  const box = $("notice");
  box.textContent = message;
  box.hidden = !message;
}

function explain(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}. Check the connection and try again.`;
  if (error.status === 429) {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : " Try again shortly.";
    return `Too many requests: ${error.message}.${wait}`;
  }
  if (error.status === 403) return `Not allowed: ${error.message}`;
  if (error.status >= 500) return `The server could not answer (${error.message}). Try again in a moment.`;
  return error.message;
}

// ---- businesses

async function loadBusinesses() {
  const { businesses } = await session.json("/businesses");
  state.businesses = businesses;
  const select = $("business");
  const admin = session.user.role === "admin";
  const options = businesses.map((b) => el("option", { value: b.business_id }, b.name));
  if (admin) options.unshift(el("option", { value: GENERAL }, "No business (general chat)"));
  select.replaceChildren(...options);
  state.business = admin ? (businesses[0]?.business_id ?? GENERAL) : session.user.business_id;
  select.value = state.business;
  select.hidden = !admin; // anyone else works for one business: its name is shown as text
  const own = businesses.find((b) => b.business_id === state.business);
  $("business-name").textContent = admin ? "" : (own?.name ?? state.business);
  document.querySelector('label[for="business"]').hidden = !admin && !own;
  showSuggestions();
}

function showSuggestions() {
  const business = state.businesses.find((b) => b.business_id === state.business);
  const questions = business?.verified_questions?.slice(0, 4) ?? [];
  const chips = questions.map((q) =>
    el("button", { type: "button", class: "chip", onclick: () => ask(q) }, q),
  );
  $("suggestions").replaceChildren(...(chips.length ? [el("span", { class: "hint" }, "Try:"), ...chips] : []));
  $("suggestions").hidden = state.threadId !== null || !chips.length;
}

// ---- conversations

async function loadThreads(more = false) {
  state.offset = more ? state.offset : 0;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  const page = await session.json(`/conversations?${query}`);
  const items = page.threads.map(threadItem);
  if (more) $("thread-list").append(...items);
  else $("thread-list").replaceChildren(...items);
  state.offset = page.next_offset ?? state.offset;
  $("more-threads").hidden = page.next_offset === null;
}

function threadItem(thread) {
  const label = thread.title || "Untitled conversation";
  const when = thread.updated_at ? new Date(thread.updated_at).toLocaleString() : "";
  const open = el("button", {
    type: "button", class: "thread", "aria-current": thread.thread_id === state.threadId ? "true" : false,
    onclick: () => openThread(thread.thread_id),
  }, el("span", { class: "title" }, label), el("span", { class: "when" }, when));
  const remove = el("button", {
    type: "button", class: "delete", "aria-label": `Delete “${label}”`,
    onclick: () => deleteThread(thread.thread_id, label),
  }, "×");
  return el("li", { "data-thread": thread.thread_id }, open, remove);
}

async function openThread(threadId) {
  notice("");
  try {
    const thread = await session.json(`/conversations/${encodeURIComponent(threadId)}`);
    state.threadId = thread.thread_id;
    if (thread.business_id && state.businesses.some((b) => b.business_id === thread.business_id)) {
      state.business = thread.business_id;
      $("business").value = thread.business_id;
    } else if (session.user.role === "admin") {
      state.business = GENERAL;
      $("business").value = GENERAL;
    }
    $("messages").replaceChildren(...thread.messages.map(savedMessage));
    markCurrent();
    showSuggestions();
    closeThreadsOnNarrow();
    $("message").focus();
  } catch (error) {
    notice(explain(error));
  }
}

async function deleteThread(threadId, label) {
  if (!window.confirm(`Delete the conversation “${label}”? This cannot be undone.`)) return;
  try {
    await session.json(`/conversations/${encodeURIComponent(threadId)}`, { method: "DELETE" });
    if (state.threadId === threadId) newThread();
    await loadThreads();
  } catch (error) {
    notice(explain(error));
  }
}

function newThread() {
  state.threadId = null;
  $("messages").replaceChildren();
  markCurrent();
  showSuggestions();
  notice("");
  closeThreadsOnNarrow();
  $("message").focus();
}

function markCurrent() {
  for (const item of $("thread-list").children) {
    const button = item.querySelector(".thread");
    if (item.dataset.thread === state.threadId) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

// ---- asking

async function ask(question) {
  question = question.trim();
  if (!question || state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  notice("");
  $("suggestions").hidden = true;
  const messages = $("messages");
  messages.append(userMessage(question));
  const pending = pendingAnswer();
  messages.append(pending.node);
  pending.node.scrollIntoView({ block: "end" });
  progress("Sending…");
  const body = { message: question };
  if (state.threadId) body.thread_id = state.threadId;
  if (state.business) body.business_id = state.business;
  try {
    const response = await session.fetch("/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    const started = !state.threadId;
    state.threadId = response.headers.get("X-Thread-ID") || state.threadId;
    let finished = false;
    let plan = [];
    for await (const { event, data } of streamEvents(response)) {
      if (event === "node") {
        pending.step(data.node);
        progress(NEXT[data.node] || "Working…");
      } else if (event === "plan") {
        plan = data.steps;
        pending.plan(plan);
        progress(`Answering in ${plan.length} steps…`);
      } else if (event === "step_started") {
        pending.stepState(data.index, "running");
        progress(`Step ${data.index + 1} of ${plan.length}: ${data.question}`);
      } else if (event === "step_rows") {
        pending.stepState(data.index, data.error ? "failed" : "done");
        if (data.index === plan.length - 1 || data.error) progress("Writing the answer…");
      } else if (event === "token") pending.append(data.text);
      else if (event === "final") {
        state.threadId = data.thread_id || state.threadId;
        pending.finish(data, { decide: (decision, id) => decideWrite(data.thread_id, id, decision), explain });
        finished = true;
      } else if (event === "error") {
        pending.fail(data.detail || "The answer could not be finished.");
        finished = true;
      }
    }
    if (!finished) pending.fail("The answer was cut off. Try again.");
    if (started) await loadThreads();
    markCurrent();
  } catch (error) {
    pending.fail(explain(error));
  } finally {
    progress("");
    state.busy = false;
    $("send").disabled = false;
    $("message").focus();
  }
}

// a paused write: the asker (or an admin) approves or rejects it; the answer is the resumed turn's
async function decideWrite(threadId, approvalId, decision) {
  return session.json("/chat/approve", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ thread_id: threadId, approval_id: approvalId, decision }),
  });
}

function progress(text) {
  $("progress").textContent = text;
}

function closeThreadsOnNarrow() {
  $("threads").classList.remove("open");
  $("toggle-threads").setAttribute("aria-expanded", "false");
}

// ---- events

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    showLogin("Enter your username and password.");
    $("username").value = username;
    return;
  }
  const button = event.submitter;
  button.disabled = true;
  try {
    await session.login(username, password);
    await showChat();
  } catch (error) {
    const message = error.status === 401 ? "Wrong username or password." : explain(error);
    showLogin(message);
    $("username").value = username;
  } finally {
    button.disabled = false;
  }
});

$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const box = $("message");
  const question = box.value;
  box.value = "";
  ask(question);
});

$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("ask-form").requestSubmit();
  }
});

$("business").addEventListener("change", (event) => {
  state.business = event.target.value;
  newThread();
});

$("new-thread").addEventListener("click", newThread);
$("more-threads").addEventListener("click", () => loadThreads(true).catch((e) => notice(explain(e))));

$("logout").addEventListener("click", async () => {
  await session.logout();
  showLogin("You are signed out.");
});

$("toggle-threads").addEventListener("click", () => {
  const open = $("threads").classList.toggle("open");
  $("toggle-threads").setAttribute("aria-expanded", String(open));
  if (open) $("new-thread").focus();
});

if (session.user) showChat().catch((error) => (error.status === 401 ? null : notice(explain(error))));
else showLogin();

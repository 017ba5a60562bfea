// app.js - todo's web page: the list over the HTTP API (docs/HTTP.md), kept
// live by Server-Sent Events on /api/events, or by polling where the server
// does not send them. No framework and no build step: the server embeds
// this file as it is, and its Content-Security-Policy (default-src 'self')
// forbids inline scripts, styles and eval, so every style is in style.css
// and every handler is attached here.

import { parseWords, taskWords, isoDate } from "./words.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 700; // under a second, the bound for a change to show
const UNDO_MS = 8000; // how long the Undo button stays after a delete

const state = {
  tasks: [],
  nodes: new Map(), // id -> {li, key}: rows kept across refreshes, so focus stays
  editing: null, // the id being edited in place; its row is left alone
  online: true,
  loggedOut: false,
  users: false, // the server has accounts: a login names its user
  me: "", // the user this page is logged in as (GET /api/session), or ""
  list: "", // the list the page works in: "" for the user's own, else one shared with them
  shared: [], // the lists shared with the user (GET /api/shares)
  sticky: false, // the error area holds a notice that a refresh must not clear
  es: null,
  esOpen: false,
  esRetryAt: 0,
  pollTimer: 0,
  refreshTimer: 0,
  toastTimer: 0,
  seen: null, // ids of the last refresh, to tell the user what others changed
};

// An error the API answered ({"error": {code, message}}) or a lost server.
class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
}

// The routes that work in a list take list=NAME (docs/HTTP.md); the
// others (the session, the login, the shares) are the user's whatever list
// the page shows.
function inList(path, list) {
  if (!list || !/^\/api\/(tasks|tags|stats|undo|events)(\/|\?|$)/.test(path)) return path;
  return path + (path.includes("?") ? "&" : "?") + "list=" + encodeURIComponent(list);
}

async function api(method, path, body) {
  const list = state.list;
  path = inList(path, list);
  const opt = { method, headers: {}, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opt);
  } catch (e) {
    // fetch rejects only when no answer came: the server is gone.
    setOnline(false);
    throw new ApiError(0, "OFFLINE", "the server cannot be reached");
  }
  setOnline(true);
  let doc = null;
  const text = await r.text();
  try {
    doc = text ? JSON.parse(text) : null;
  } catch (e) {
    doc = null;
  }
  if (!r.ok) {
    const err = doc && doc.error ? doc.error : { code: String(r.status), message: r.statusText };
    if (r.status === 401) showLogin();
    // A 403 AUTH for a request in another's list: the list is not (or no
    // longer) shared with this user. The page goes back to the user's own,
    // and the caller's error is that notice, whoever shows it.
    if (r.status === 403 && err.code === "AUTH" && list && list === state.list)
      throw new ApiError(r.status, err.code, leaveList(list));
    const wait = parseInt(r.headers.get("Retry-After") || "0", 10);
    throw new ApiError(r.status, err.code, err.message, wait > 0 ? wait : 0);
  }
  return doc;
}

// --- messages -------------------------------------------------------------

function announce(msg) {
  // Emptied first so that the same words said twice are read twice.
  const a = $("announce");
  a.textContent = "";
  setTimeout(() => { a.textContent = msg; }, 30);
}

// sticky: a notice (the list left) that stays until something else is said,
// rather than being cleared by the next refresh.
function showError(msg, sticky = false) {
  const same = state.sticky && msg === $("error").textContent;
  state.sticky = (sticky || same) && !!msg;
  $("error").textContent = msg || "";
}

function clearError() {
  if (!state.sticky) showError("");
}

function setOnline(on) {
  if (on === state.online) return;
  state.online = on;
  const c = $("conn");
  if (on) {
    c.textContent = "";
    c.classList.remove("lost");
    announce("Connected to the server again.");
    scheduleRefresh(0);
  } else {
    c.textContent = "Lost the server; reconnecting…";
    c.classList.add("lost");
  }
  document.body.classList.toggle("offline", !on);
  ensurePolling();
}

// --- the list ---------------------------------------------------------------

function query() {
  const p = new URLSearchParams();
  p.set("status", $("f-status").value);
  if ($("f-tag").value) p.append("tag", $("f-tag").value);
  const q = $("f-q").value.trim();
  if (q) p.set("q", q);
  return p.toString();
}

function scheduleRefresh(ms = 60) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, ms);
}

async function refresh() {
  if (state.loggedOut) return;
  try {
    const list = state.list;
    const [tasks, tags] = await Promise.all([
      api("GET", "/api/tasks?" + query()),
      api("GET", "/api/tags"),
      loadShares(),
    ]);
    if (list !== state.list) return; // the list changed meanwhile: its own refresh follows
    clearError();
    noteOthers(tasks);
    state.tasks = tasks;
    render();
    renderTags(tags || []);
  } catch (e) {
    if (e.status !== 0 && e.status !== 401) showError(e.message);
  }
}

// Tells a screen reader's user about tasks that came or went by others'
// hands (the page's own changes are announced where they are made).
function noteOthers(tasks) {
  const ids = new Set(tasks.map((t) => t.id));
  if (state.seen && state.seenQuery === query() && !state.quiet) {
    const added = tasks.filter((t) => !state.seen.has(t.id)).length;
    let gone = 0;
    for (const id of state.seen) if (!ids.has(id)) gone++;
    const parts = [];
    if (added) parts.push(`${added} task${added > 1 ? "s" : ""} added`);
    if (gone) parts.push(`${gone} task${gone > 1 ? "s" : ""} gone`);
    if (parts.length) announce(parts.join(", ") + ".");
  }
  state.quiet = false;
  state.seen = ids;
  state.seenQuery = query();
}

function today() {
  return isoDate(new Date());
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function taskRow(t) {
  const li = el("li", "task");
  li.dataset.id = t.id;
  const overdue = t.status === "pending" && t.due && t.due < today();
  li.classList.toggle("done", t.status === "done");
  li.classList.toggle("overdue", !!overdue);

  const textId = `text-${t.id}`;
  const box = el("input", "check");
  box.type = "checkbox";
  box.checked = t.status === "done";
  box.setAttribute("aria-labelledby", textId);
  box.title = t.status === "done" ? "Mark pending" : "Mark done";
  box.addEventListener("change", () => setDone(t, box.checked));

  const body = el("div", "body");
  const text = el("span", "text", t.text);
  text.id = textId;
  text.addEventListener("dblclick", () => startEdit(t.id));
  body.append(text);

  const meta = el("div", "meta");
  if (t.priority) {
    const p = el("span", `pri pri-${t.priority}`, t.priority === "med" ? "medium" : t.priority);
    p.setAttribute("aria-label", `priority ${t.priority === "med" ? "medium" : t.priority}`);
    meta.append(p);
  }
  if (t.due) {
    const d = el("span", "due", (overdue ? "overdue: " : "due ") + t.due);
    meta.append(d);
  }
  for (const tag of t.tags || []) {
    const b = el("button", "tag", "+" + tag);
    b.type = "button";
    b.setAttribute("aria-label", `show tag ${tag}`);
    b.addEventListener("click", () => {
      ensureTagOption(tag);
      $("f-tag").value = tag;
      scheduleRefresh(0);
    });
    meta.append(b);
  }
  if (meta.childNodes.length) body.append(meta);

  const actions = el("div", "actions");
  const edit = el("button", "edit", "Edit");
  edit.type = "button";
  edit.setAttribute("aria-label", `Edit: ${t.text}`);
  edit.addEventListener("click", () => startEdit(t.id));
  const del = el("button", "delete", "Delete");
  del.type = "button";
  del.setAttribute("aria-label", `Delete: ${t.text}`);
  del.addEventListener("click", () => remove(t));
  actions.append(edit, del);

  li.append(box, body, actions);
  return li;
}

// Rows are rebuilt only when their task changed, and moved only when out of
// place, so that a refresh does not take the keyboard focus away. Rows that
// left go first: moving a row past one about to go would move the row that
// holds the focus, and a moved element loses it.
function render() {
  const ul = $("tasks");
  const focused = document.activeElement;
  const keep = new Set(state.tasks.map((t) => t.id));
  for (const [id, n] of state.nodes) {
    if (!keep.has(id) && state.editing !== id) {
      n.li.remove();
      state.nodes.delete(id);
    }
  }
  let prev = null;
  for (const t of state.tasks) {
    const key = JSON.stringify(t) + (t.due && t.due < today() ? "!" : "");
    let n = state.nodes.get(t.id);
    if (n && n.key !== key && state.editing !== t.id) {
      const li = taskRow(t);
      const hadFocus = n.li.contains(document.activeElement);
      const cls = hadFocus ? document.activeElement.className : null;
      n.li.replaceWith(li);
      n = { li, key };
      state.nodes.set(t.id, n);
      if (cls) {
        const f = li.querySelector("." + cls.split(" ")[0]);
        if (f) f.focus();
      }
    } else if (!n) {
      n = { li: taskRow(t), key };
      state.nodes.set(t.id, n);
    }
    const want = prev ? prev.nextSibling : ul.firstChild;
    if (want !== n.li) ul.insertBefore(n.li, want);
    prev = n.li;
  }
  // A row that others' changes moved still holds the focus it had.
  if (focused && focused !== document.body && focused.isConnected &&
      document.activeElement !== focused)
    focused.focus();
  const k = state.tasks.length;
  $("count").textContent = `(${k})`;
  $("empty").hidden = k > 0;
}

function ensureTagOption(tag) {
  const sel = $("f-tag");
  if ([...sel.options].some((o) => o.value === tag)) return;
  const o = el("option", null, tag);
  o.value = tag;
  sel.append(o);
}

function renderTags(tags) {
  const sel = $("f-tag");
  const cur = sel.value;
  const want = ["", ...tags.map((t) => t.tag)];
  if (cur && !want.includes(cur)) want.push(cur);
  const have = [...sel.options].map((o) => o.value);
  if (have.join("\n") === want.join("\n")) return;
  sel.replaceChildren();
  for (const v of want) {
    const label = v ? `${v} (${(tags.find((t) => t.tag === v) || { count: 0 }).count})` : "Any tag";
    const o = el("option", null, label);
    o.value = v;
    sel.append(o);
  }
  sel.value = cur;
}

// --- the list picker ---------------------------------------------------------

// The user's own list and the ones shared with them (GET /api/shares: pairs of
// a list and a user it is shared with; those naming this user are theirs to
// pick). Hidden when there is nothing to pick.
async function loadShares() {
  if (!state.users || !state.me) return;
  let pairs;
  try {
    pairs = await api("GET", "/api/shares");
  } catch (e) {
    return; // the list itself says what is wrong
  }
  const shared = (pairs || []).filter((p) => p.user === state.me).map((p) => p.list);
  if (shared.join("\n") !== state.shared.join("\n")) {
    state.shared = shared;
    renderLists();
  }
}

function renderLists() {
  const sel = $("f-list");
  const want = ["", ...state.shared];
  if (state.list && !want.includes(state.list)) want.push(state.list);
  sel.replaceChildren();
  for (const v of want) {
    const o = el("option", null, v ? `${v} (shared with you)` : `${state.me} (your own)`);
    o.value = v;
    sel.append(o);
  }
  sel.value = state.list;
  $("list-pick").hidden = want.length < 2;
}

// The choice is kept in the URL's hash (#list=NAME), so that a reload, or
// the address given to another tab, stays in that list.
function listFromHash() {
  const m = /^#list=([^&]*)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : "";
}

function keepList() {
  const hash = state.list ? "#list=" + encodeURIComponent(state.list) : "";
  if (location.hash !== hash)
    history.replaceState(null, "", location.pathname + location.search + hash);
}

// Works in list from now on ("" is the user's own): the rows, the tags and
// the event stream are the new list's.
function useList(list) {
  if (list === state.me) list = "";
  if (list === state.list) return;
  state.list = list;
  keepList();
  state.nodes.clear();
  state.seen = null;
  state.tasks = [];
  $("tasks").replaceChildren();
  $("f-tag").value = "";
  renderLists();
  if (!state.loggedOut) {
    openEvents();
    scheduleRefresh(0);
  }
}

// The server said list is not shared with this user (any more): back to
// their own list, saying why where the page says what went wrong. Returns
// the sentence.
function leaveList(list) {
  const msg = `The list ${list} is not shared with you any more; this is your own list.`;
  if (state.list !== list) return msg;
  state.shared = state.shared.filter((l) => l !== list);
  useList("");
  showError(msg, true);
  announce(msg);
  return msg;
}

// --- changes ----------------------------------------------------------------

async function add(ev) {
  ev.preventDefault();
  const input = $("new");
  const line = input.value;
  if (!line.trim()) {
    showError("Type the task first.");
    return;
  }
  let body;
  try {
    body = parseWords(line, false);
  } catch (e) {
    showError(e.message);
    return;
  }
  if (!body.text) {
    showError("A task needs some text besides its +tags, due: and pri: words.");
    return;
  }
  try {
    const t = await api("POST", "/api/tasks", body);
    input.value = "";
    showError("");
    announce(`Added task ${t.id}: ${t.text}.`);
    state.quiet = true;
    await refresh();
  } catch (e) {
    showError(e.message);
  }
}

async function setDone(t, done) {
  try {
    await api("POST", `/api/tasks/${t.id}/${done ? "done" : "undone"}`);
    announce(`${t.text}: ${done ? "done" : "pending again"}.`);
    state.quiet = true;
    await refresh();
  } catch (e) {
    showError(e.message);
    scheduleRefresh(0);
  }
}

// Where the focus goes when a row leaves: its neighbour, else the input.
function focusAfter(id) {
  const n = state.nodes.get(id);
  const next = n && (n.li.nextElementSibling || n.li.previousElementSibling);
  const target = next ? next.querySelector(".check") : $("new");
  target.focus();
}

async function remove(t) {
  try {
    focusAfter(t.id);
    await api("DELETE", `/api/tasks/${t.id}`);
    showToast(`Deleted “${t.text}”.`);
    announce(`Deleted ${t.text}. Undo with Control+Z or the Undo button, for a few seconds.`);
    state.quiet = true;
    await refresh();
  } catch (e) {
    showError(e.message);
  }
}

function showToast(msg) {
  $("toast-text").textContent = msg;
  $("toast").hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(hideToast, UNDO_MS);
}

function hideToast() {
  const t = $("toast");
  if (t.contains(document.activeElement)) $("new").focus();
  t.hidden = true;
}

async function undo() {
  try {
    await api("POST", "/api/undo");
    hideToast();
    announce("Undone.");
    state.quiet = true;
    await refresh();
  } catch (e) {
    showError(e.message);
  }
}

function startEdit(id) {
  const t = state.tasks.find((x) => x.id === id);
  const n = state.nodes.get(id);
  if (!t || !n || state.editing) return;
  state.editing = id;
  const li = n.li;
  li.classList.add("editing");
  const form = el("form", "edit-form");
  const label = el("label", "sr-only", `Edit task ${t.id}`);
  const input = el("input", "edit-input");
  input.id = `edit-${t.id}`;
  label.htmlFor = input.id;
  input.type = "text";
  input.value = taskWords(t);
  input.autocomplete = "off";
  input.setAttribute("aria-describedby", "new-help");
  form.append(label, input);
  const body = li.querySelector(".body");
  body.hidden = true;
  li.insertBefore(form, body);
  input.focus();
  input.select();

  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    if (save && input.value !== taskWords(t)) {
      let b;
      try {
        b = parseWords(input.value, true);
        if (!b.text) throw new Error("A task needs some text.");
      } catch (e) {
        showError(e.message);
        done = false;
        input.focus();
        return;
      }
      // The whole task is retyped, so a word left out clears its field.
      if (b.due === undefined) b.due = null;
      if (b.priority === undefined) b.priority = null;
      try {
        await api("PATCH", `/api/tasks/${t.id}`, b);
        announce(`Saved task ${t.id}.`);
        showError("");
      } catch (e) {
        showError(e.message);
      }
    }
    state.editing = null;
    form.remove();
    body.hidden = false;
    li.classList.remove("editing");
    const ed = li.querySelector(".edit");
    state.quiet = true;
    await refresh();
    const now = state.nodes.get(t.id);
    const f = now ? now.li.querySelector(".edit") : ed;
    if (f) f.focus();
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); finish(true); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true));
}

// --- live updates -------------------------------------------------------------

// Events say something changed; the list is then read again with the
// page's filter, which is simpler than applying each event and cannot drift.
const EVENT_NAMES = ["change", "reload", "message"];

function openEvents() {
  if (typeof EventSource === "undefined" || state.loggedOut) return;
  if (state.es) state.es.close();
  state.esRetryAt = Date.now() + 5000;
  const es = new EventSource(inList("/api/events", state.list));
  const list = state.list;
  state.es = es;
  es.addEventListener("open", () => {
    state.esOpen = true;
    // Says how the list is kept live (the browser test reads it).
    document.body.dataset.live = "events";
    setOnline(true);
    scheduleRefresh(0); // what changed while it was away
    ensurePolling();
  });
  for (const name of EVENT_NAMES) es.addEventListener(name, () => scheduleRefresh());
  // The stream of a list that is no longer shared ends with a reload of
  // kind "unshared": reading the list again would only be refused.
  es.addEventListener("reload", (ev) => {
    let kind = "";
    try {
      kind = JSON.parse(ev.data).kind;
    } catch (e) {
      kind = "";
    }
    if (kind !== "unshared") return;
    es.close();
    if (state.es === es) {
      state.es = null;
      state.esOpen = false;
    }
    leaveList(list);
  });
  es.addEventListener("error", () => {
    state.esOpen = false;
    document.body.dataset.live = "polling";
    // A stream refused (an HTTP error) is closed for good; a lost one is
    // retried by the browser. Either way polling says whether the server is
    // there and keeps the list current until the stream is back.
    if (es.readyState === EventSource.CLOSED && state.es === es) state.es = null;
    ensurePolling();
    poll();
  });
}

function ensurePolling() {
  const want = !state.esOpen && !state.loggedOut;
  if (want && !state.pollTimer) state.pollTimer = setInterval(poll, POLL_MS);
  if (!want && state.pollTimer) {
    clearInterval(state.pollTimer);
    state.pollTimer = 0;
  }
}

async function poll() {
  if (state.editing) return;
  await refresh();
  // A stream the browser gave up on (CLOSED), or one still trying to
  // connect while the API answers, is opened afresh, at most every 5 s.
  const stuck = !state.es || state.es.readyState !== EventSource.OPEN;
  if (state.online && stuck && Date.now() >= state.esRetryAt) openEvents();
}

// --- login -------------------------------------------------------------------

function showLogin() {
  state.loggedOut = true;
  ensurePolling();
  if (state.es) {
    state.es.close();
    state.es = null;
    state.esOpen = false;
  }
  $("app").hidden = true;
  $("login").hidden = false;
  // A server with accounts asks whose list it is (GET /api/session says
  // "users"): the name comes first, and the password is that user's.
  $("user-row").hidden = !state.users;
  $("user").required = state.users;
  $("password-label").textContent = state.users ? "Password" : "Password of this server";
  if (state.users && $("user").value === "") $("user").focus();
  else $("password").focus();
}

// After wrong passwords the server looks at the next one only after a
// delay (429 with Retry-After, docs/HTTP.md): the page says how long and
// keeps the button off until then, rather than send tries that would only be
// refused. The sentence is not counted down: the message is an alert, and a
// screen reader would read it out again every second.
let loginWaitTimer = 0;

function loginWait(seconds) {
  const button = $("login-form").querySelector("button");
  clearTimeout(loginWaitTimer);
  button.disabled = true;
  $("login-error").textContent = `Too many wrong passwords; wait ${seconds} s.`;
  loginWaitTimer = setTimeout(() => {
    loginWaitTimer = 0;
    button.disabled = false;
    $("login-error").textContent = "You may try again.";
    $("password").focus();
  }, seconds * 1000);
}

async function login(ev) {
  ev.preventDefault();
  if (loginWaitTimer) return; // Enter in the field while the button is off
  $("login-error").textContent = "";
  try {
    const body = { password: $("password").value };
    if (state.users) body.user = $("user").value.trim();
    await api("POST", "/api/login", body);
  } catch (e) {
    const wrong = state.users ? "Wrong user or password." : "Wrong password.";
    if (e.status === 429) loginWait(e.retryAfter || 1);
    else $("login-error").textContent = e.status === 401 ? wrong : e.message;
    $("password").select();
    return;
  }
  $("password").value = "";
  await session();
  startApp();
}

// GET /api/session: whether a login is needed, and whose it is. True when
// the page must log in first.
async function session() {
  try {
    const s = await api("GET", "/api/session");
    state.users = !!(s && s.users === true);
    state.me = s && typeof s.user === "string" ? s.user : "";
    return !!(s && s.password === true && s.authed !== true);
  } catch (e) {
    return e.status === 401;
  }
}

function startApp() {
  state.loggedOut = false;
  $("login").hidden = true;
  $("app").hidden = false;
  // A list from the address is kept only for a user; one not shared is
  // refused by the server, and the page then says so and goes home.
  state.list = state.me ? listFromHash() : "";
  if (state.list === state.me) state.list = "";
  keepList();
  renderLists();
  $("new").focus();
  refresh();
  openEvents();
  ensurePolling();
}

// --- start ---------------------------------------------------------------------

async function start() {
  $("add-form").addEventListener("submit", add);
  $("login-form").addEventListener("submit", login);
  $("undo").addEventListener("click", undo);
  $("filter").addEventListener("submit", (e) => e.preventDefault());
  $("f-status").addEventListener("change", () => scheduleRefresh(0));
  $("f-tag").addEventListener("change", () => scheduleRefresh(0));
  $("f-q").addEventListener("input", () => scheduleRefresh(200));
  document.addEventListener("keydown", (e) => {
    // Escape hides the Undo offer; "/" goes to the word filter, as on many sites.
    if (e.key === "Escape" && !$("toast").hidden) hideToast();
    const a = document.activeElement;
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
    if (e.key === "/" && !typing) {
      e.preventDefault();
      $("f-q").focus();
    }
    // Control+Z (Command+Z) undoes a delete while its offer shows, except in
    // a text field, where it undoes the typing as usual.
    const textField = a.tagName === "TEXTAREA" ||
      (a.tagName === "INPUT" && /^(text|search|password)$/.test(a.type));
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && !$("toast").hidden &&
        !textField) {
      e.preventDefault();
      undo();
    }
  });
  // GET /api/session says whether a login is needed: {"password": the
  // server has one, "authed": this request (its cookie) carries it}. Any 401
  // later shows the form too, through api().
  $("f-list").addEventListener("change", () => {
    showError("");
    const v = $("f-list").value;
    useList(v);
    announce(v ? `Showing ${v}'s list.` : "Showing your own list.");
  });
  window.addEventListener("hashchange", () => {
    if (state.me) useList(listFromHash());
  });
  const needLogin = await session();
  if (needLogin) showLogin();
  else startApp();
}

start();

// words.js - the shell's words (todo-cli add/edit) read into the fields of
// the HTTP API's JSON body, by the same rules as client/words.c (splitting
// and quoting) and libproto (what +tag, due: and pri: mean), so that a line
// typed in the page makes the task the same line makes in todo-cli.

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const PRIORITIES = ["low", "med", "high"];
const MAX_TAG = 32; // bytes, PROTO_MAX_TAG
const MAX_TAGS = 16; // PROTO_MAX_TAGS

// Splits a line into words as a shell does: blanks separate, '...' and "..."
// quote, a backslash escapes. A word with any quoting in it is text, so that
// "+urgent" in quotes is no tag (words.c's rule). Returns [{s, quoted}].
export function splitWords(line) {
  const out = [];
  let i = 0;
  const n = line.length;
  const blank = (c) => c === " " || c === "\t" || c === "\n" || c === "\r";
  for (;;) {
    while (i < n && blank(line[i])) i++;
    if (i >= n) break;
    let s = "";
    let quoted = false;
    while (i < n && !blank(line[i])) {
      const c = line[i++];
      if (c === "\\") {
        quoted = true;
        if (i < n) s += line[i++];
      } else if (c === "'") {
        quoted = true;
        while (i < n && line[i] !== "'") s += line[i++];
        if (i >= n) throw new Error("unterminated single quote");
        i++;
      } else if (c === '"') {
        quoted = true;
        while (i < n && line[i] !== '"') {
          let d = line[i++];
          if (d === "\\" && i < n) {
            const e = line[i];
            if (e === '"' || e === "\\") { d = e; i++; }
            else if (e === "n") { d = "\n"; i++; }
            else if (e === "t") { d = "\t"; i++; }
          }
          s += d;
        }
        if (i >= n) throw new Error("unterminated double quote");
        i++;
      } else {
        s += c;
      }
    }
    out.push({ s, quoted });
  }
  return out;
}

// A tag is 1 to 32 bytes of letters or digits of any script, '_', '.', '-'.
export function validTag(t) {
  return t.length > 0 && new TextEncoder().encode(t).length <= MAX_TAG &&
    /^[\p{L}\p{N}_.-]+$/u.test(t);
}

function pad(n, w) {
  return String(n).padStart(w, "0");
}

// The local date d as YYYY-MM-DD (todo-cli resolves words in the user's zone).
export function isoDate(d) {
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}`;
}

function validDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const y = +m[1], mo = +m[2], d = +m[3];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(y, mo, 0).getDate();
}

// What a due: word means on the day today (a Date): a YYYY-MM-DD, null for
// "none", undefined if it is no date (proto_date_resolve's words).
export function resolveDate(word, today) {
  const w = word.toLowerCase();
  const y = today.getFullYear(), m = today.getMonth(), d = today.getDate();
  const day = (k) => isoDate(new Date(y, m, d + k));
  if (validDate(word)) return word;
  if (w === "none") return null;
  if (w === "today") return day(0);
  if (w === "tomorrow") return day(1);
  if (w === "yesterday") return day(-1);
  const iso = ((today.getDay() + 6) % 7) + 1; // 1 Monday .. 7 Sunday
  if (w === "eow") return day(7 - iso);
  if (w === "eom") return isoDate(new Date(y, m + 1, 0));
  if (w === "eoy") return isoDate(new Date(y, 11, 31));
  for (let i = 0; i < 7; i++) {
    if (w === WEEKDAYS[i] || (w.length === 3 && WEEKDAYS[i].startsWith(w))) {
      // The next such day strictly after today: "fri" on a Friday is a week ahead.
      const ahead = (i + 1 - iso + 7) % 7;
      return day(ahead === 0 ? 7 : ahead);
    }
  }
  const r = /^\+(\d{1,4})([dwm])$/.exec(w);
  if (r) {
    const k = +r[1];
    if (r[2] === "d") return day(k);
    if (r[2] === "w") return day(7 * k);
    // Months clamp to the target month's last day, as libproto does.
    const last = new Date(y, m + k + 1, 0).getDate();
    return isoDate(new Date(y, m + k, Math.min(d, last)));
  }
  return undefined;
}

// Reads the words of an add (edit = false) or of an edit in place (edit =
// true: the whole task retyped, so pri:none and due:none clear) into
// {text, tags, due, priority}; due and priority are left out when no word
// names them (undefined), null when the words clear them. Throws an Error
// whose message is for the user.
export function parseWords(line, edit = false, today = new Date()) {
  const words = splitWords(line);
  const text = [];
  const tags = [];
  let due, priority;
  for (const { s, quoted } of words) {
    if (!quoted) {
      if (s.length > 1 && s[0] === "+") {
        const t = s.slice(1);
        if (!validTag(t))
          throw new Error(`a tag is 1 to ${MAX_TAG} bytes of letters or digits, '_', '.' or '-', ` +
                          `e.g. +home (quote the word to use it as text)`);
        if (!tags.includes(t)) tags.push(t);
        if (tags.length > MAX_TAGS) throw new Error(`a task takes at most ${MAX_TAGS} tags`);
        continue;
      }
      const low = s.toLowerCase();
      if (low.startsWith("due:")) {
        const v = resolveDate(s.slice(4), today);
        if (v === undefined)
          throw new Error("the due date must be a real date as YYYY-MM-DD, e.g. due:2026-12-01, " +
                          "or a word such as today, tomorrow, fri, +3d, +2w, +1m, eow, eom or eoy");
        due = v;
        continue;
      }
      if (low.startsWith("pri:")) {
        const p = low.slice(4);
        if (p === "none") priority = null;
        else if (PRIORITIES.includes(p)) priority = p;
        else throw new Error("the priority must be low, med, high or none, e.g. pri:high");
        continue;
      }
    }
    text.push(s);
  }
  const body = { text: text.join(" "), tags };
  if (due !== undefined) body.due = due;
  if (priority !== undefined) body.priority = priority;
  if (!edit) {
    if (body.due === null) delete body.due;
    if (body.priority === null) delete body.priority;
  }
  return body;
}

// A task written back as the words that make it, for editing in place.
export function taskWords(t) {
  const quote = (w) => {
    const needs = /[\s'"\\]/.test(w) || (w.length > 1 && w[0] === "+") ||
      /^(due|pri):/i.test(w);
    return needs ? `"${w.replace(/["\\]/g, "\\$&")}"` : w;
  };
  const parts = t.text.split(" ").filter((w) => w !== "").map(quote);
  for (const tag of t.tags || []) parts.push("+" + tag);
  if (t.due) parts.push("due:" + t.due);
  if (t.priority) parts.push("pri:" + t.priority);
  return parts.join(" ");
}

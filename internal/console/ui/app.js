// The review console: campaigns, upload, live progress, and the review
// table. Views are rebuilt from state with dom.js's h, which never parses
// markup; the page's CSP forbids inline script and style besides.

import { APIError, apiKey, call, etag, paths, setAPIKey } from "./api.js";
import { h, kbd, replace } from "./dom.js";
import { marked } from "./highlight.js";

const main = document.getElementById("main");
const flashBox = document.getElementById("flash");
const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("api-key");
const keySet = document.getElementById("key-set");

// pollDelay is how long the page waits before it reads a running campaign
// again: 1.5 s for a small one, longer for a large one, whose every read
// of the list is larger too (10 s at 10,000 prospects).
function pollDelay(c) {
  return Math.min(10000, 1500 + (c.total || 0));
}

const FINAL = new Set(["completed", "completed_with_errors", "cancelled"]);

const FILTERS = [
  ["", "All emails"],
  ["unreviewed", "To review (no decision yet)"],
  ["needs_review", "Flagged by the quality check"],
  ["approved", "Approved"],
  ["rejected", "Rejected"],
  ["failed", "Failed"],
  ["skipped", "Skipped: no room in the budget"],
  ["pending", "Still being written"],
];

const LABELS = {
  queued: "Queued",
  running: "Running",
  completed: "Completed",
  completed_with_errors: "Completed with errors",
  cancelled: "Cancelled",
  pending: "Pending",
  succeeded: "Succeeded",
  needs_review: "Needs review",
  failed: "Failed",
  skipped: "Skipped",
  approved: "Approved",
  rejected: "Rejected",
  unreviewed: "Unreviewed",
};

let view = null; // the current view: {stop()}
let flashTimer = 0;
let carry = false; // the flash outlives the next change of view

// flash says something to the person at the top of the page (a live
// region, so screen readers say it too). With next, it is about the view
// the page is going to, and stays when it opens.
function flash(text, kind = "ok", next = false) {
  clearTimeout(flashTimer);
  carry = next;
  replace(flashBox, h("p", { class: kind }, text));
  if (kind === "ok") {
    flashTimer = setTimeout(() => replace(flashBox), 6000);
  }
}

function problem(err) {
  return err instanceof APIError ? err.describe() : String(err && err.message ? err.message : err);
}

function badge(status) {
  return status ? h("span", { class: "badge " + status }, LABELS[status] || status) : "";
}

function showKey() {
  const has = apiKey() !== "";
  keyForm.hidden = has;
  keySet.hidden = !has;
}

keyForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    flash("Paste your API key first.", "error");
    keyInput.focus();
    return;
  }
  setAPIKey(key);
  keyInput.value = "";
  showKey();
  route();
});

document.getElementById("forget-key").addEventListener("click", () => {
  setAPIKey("");
  showKey();
  route();
  keyInput.focus();
});

function route() {
  if (view) {
    view.stop();
    view = null;
  }
  if (!carry) replace(flashBox);
  carry = false;
  if (!apiKey()) {
    replace(main, h("section", { class: "card" },
      h("h1", {}, "Review your campaigns"),
      h("p", {}, "Enter your API key at the top right to start. It stays in this browser tab only (session storage) and is sent to this server with each request."),
      h("p", { class: "muted small" }, "Running the program yourself? The key is one of API_KEYS. On AWS, it is the stack's API key.")));
    return;
  }
  const m = location.hash.match(/^#\/campaigns\/([^/?#]+)$/);
  view = m ? campaignView(decodeURIComponent(m[1])) : homeView();
}

window.addEventListener("hashchange", route);
window.addEventListener("ingren:unauthorized", () => {
  setAPIKey("");
  showKey();
  route();
  flash("The API key was refused: enter a valid key.", "error");
  keyInput.focus();
});
showKey();
route();

// ---------------------------------------------------------------- home

function homeView() {
  let stopped = false;
  const list = h("div", {}, h("p", { class: "muted" }, "Loading campaigns…"));
  const fileInput = h("input", { id: "csv-file", name: "file", type: "file", accept: ".csv,text/csv", required: true });
  const nameInput = h("input", { id: "campaign-name", name: "name", type: "text", placeholder: "Q3 RevOps leaders" });
  const askInput = h("input", { id: "campaign-ask", name: "ask", type: "text", placeholder: "a 15-minute call next week" });
  const linkInput = h("input", { id: "campaign-link", name: "calendar_link", type: "url", placeholder: "https://cal.example.com/you" });
  const senderInput = h("input", { id: "campaign-sender", name: "sender", type: "text", placeholder: "Alex Rivera" });
  const submit = h("button", { type: "submit", class: "primary", id: "upload" }, "Upload and start writing");
  const form = h("form", { id: "upload-form", onsubmit: upload },
    h("div", { class: "field" }, h("label", { for: "csv-file" }, "CSV file",
      h("span", { class: "hint" }, " — one prospect per row, with a header row (Sales Navigator, Apollo and HubSpot exports work as they are)")), fileInput),
    h("div", { class: "field" }, h("label", { for: "campaign-name" }, "Campaign name ", h("span", { class: "hint" }, "(optional)")), nameInput),
    h("div", { class: "field" }, h("label", { for: "campaign-ask" }, "What the emails ask for ", h("span", { class: "hint" }, "(optional)")), askInput),
    h("div", { class: "field" }, h("label", { for: "campaign-link" }, "Calendar link ", h("span", { class: "hint" }, "(optional)")), linkInput),
    h("div", { class: "field" }, h("label", { for: "campaign-sender" }, "Sender name ", h("span", { class: "hint" }, "(optional)")), senderInput),
    submit);
  const openInput = h("input", { id: "open-id", type: "text", placeholder: "cmp_…", spellcheck: "false" });
  const openForm = h("form", { class: "row", onsubmit: (ev) => {
    ev.preventDefault();
    const id = openInput.value.trim();
    if (id) {
      location.hash = "#/campaigns/" + encodeURIComponent(id);
    }
  } }, h("label", { for: "open-id" }, "Open a campaign by id"), openInput, h("button", { type: "submit" }, "Open"));

  replace(main,
    h("div", { class: "grid2" },
      h("section", { class: "card", "aria-labelledby": "campaigns-title" },
        h("h1", { id: "campaigns-title" }, "Campaigns"),
        list,
        openForm),
      h("section", { class: "card", "aria-labelledby": "upload-title" },
        h("h2", { id: "upload-title" }, "New campaign from a CSV file"),
        form)));

  async function upload(ev) {
    ev.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      flash("Choose a CSV file to upload.", "error");
      fileInput.focus();
      return;
    }
    const meta = {};
    if (nameInput.value.trim()) meta.name = nameInput.value.trim();
    const cta = {};
    if (askInput.value.trim()) cta.ask = askInput.value.trim();
    if (linkInput.value.trim()) cta.calendar_link = linkInput.value.trim();
    const defaults = {};
    if (Object.keys(cta).length) defaults.cta = cta;
    if (senderInput.value.trim()) defaults.sender = { name: senderInput.value.trim() };
    if (Object.keys(defaults).length) meta.defaults = defaults;
    const body = new FormData();
    body.append("file", file, file.name);
    if (Object.keys(meta).length) {
      body.append("campaign", new Blob([JSON.stringify(meta)], { type: "application/json" }), "campaign.json");
    }
    submit.disabled = true;
    submit.textContent = "Uploading…";
    try {
      // One key per click: a retried upload never makes two campaigns.
      const res = await call("POST", paths.campaigns(), { body, headers: { "Idempotency-Key": crypto.randomUUID() } });
      const c = res.data;
      const notes = [].concat(c.warnings || [], (c.skipped || []).map((s) => "row " + s.row + " skipped"));
      flash("Campaign created with " + c.total + " prospects." + (notes.length ? " " + notes.join("; ") : ""), "ok", true);
      location.hash = "#/campaigns/" + encodeURIComponent(c.campaign_id);
    } catch (err) {
      flash("Upload refused: " + problem(err), "error");
      submit.disabled = false;
      submit.textContent = "Upload and start writing";
    }
  }

  async function load() {
    try {
      const res = await call("GET", paths.campaigns() + "?limit=50");
      if (stopped) return;
      const cs = res.data.campaigns || [];
      if (!cs.length) {
        replace(list, h("p", { class: "empty" }, "No campaigns yet: upload a CSV file to write the first one."));
        return;
      }
      replace(list, h("table", { class: "campaigns" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col", class: "num" }, "Written"), h("th", { scope: "col", class: "num" }, "To review"),
          h("th", { scope: "col", class: "num" }, "Approved"), h("th", { scope: "col" }, "Created"))),
        h("tbody", {}, cs.map((c) => h("tr", {},
          h("td", {}, h("a", { href: "#/campaigns/" + encodeURIComponent(c.campaign_id) }, c.name || c.campaign_id)),
          h("td", {}, badge(c.status)),
          h("td", { class: "num" }, done(c) + " / " + c.total),
          h("td", { class: "num" }, c.unreviewed ?? "—"),
          h("td", { class: "num" }, c.approved ?? "—"),
          h("td", { class: "small muted" }, new Date(c.created_at).toLocaleString()))))));
    } catch (err) {
      if (!stopped) replace(list, h("p", { class: "alert", role: "alert" }, "The campaigns could not be loaded: " + problem(err)));
    }
  }
  load();
  return { stop() { stopped = true; } };
}

// done is how many of a campaign's emails have an outcome.
function done(c) {
  return c.total - (c.pending || 0);
}

// ---------------------------------------------------------------- campaign

function campaignView(id) {
  const st = {
    campaign: null,
    emails: [],
    sel: -1, // position in emails
    filter: "",
    mode: "view", // view | edit | regen | busy
    alert: "", // shown in the detail panel until the selection moves
    seen: "", // the campaign's counts when the emails were last read
  };
  let stopped = false;
  let timer = 0;

  const head = h("section", { class: "card", "aria-labelledby": "campaign-title" }, h("p", { class: "muted" }, "Loading the campaign…"));
  const filterSelect = h("select", { id: "filter", onchange: () => { st.filter = filterSelect.value; st.sel = -1; loadEmails(); } },
    FILTERS.map(([v, label]) => h("option", { value: v }, label)));
  const listBox = h("div", { class: "list", id: "email-list", tabindex: 0, "aria-label": "Emails; j and k move" });
  const detail = h("section", { class: "card detail", id: "detail", "aria-live": "polite", "aria-label": "Selected email" });
  const hints = h("p", { class: "keys", id: "keys", "aria-label": "Keyboard shortcuts" },
    kbd("j", "/ ↓ next"), kbd("k", "/ ↑ previous"), kbd("a", "approve"), kbd("r", "reject"), kbd("u", "undo decision"),
    kbd("e", "edit"), kbd("g", "regenerate"), kbd("Enter", "save (Ctrl+Enter in the body)"), kbd("Esc", "cancel"));

  replace(main, head,
    h("div", { class: "toolbar" },
      h("label", { for: "filter" }, "Show"), filterSelect,
      h("span", { class: "spacer" }),
      h("a", { href: "#/" }, "← All campaigns")),
    h("div", { class: "review" }, listBox, detail),
    hints);

  document.addEventListener("keydown", onKey);

  async function refresh() {
    clearTimeout(timer);
    try {
      const res = await call("GET", paths.campaign(id));
      if (stopped) return;
      st.campaign = res.data;
      renderHead();
      const counts = JSON.stringify([st.campaign.status, st.campaign.pending, st.campaign.succeeded, st.campaign.needs_review,
        st.campaign.failed, st.campaign.skipped, st.campaign.retries]);
      if (counts !== st.seen) {
        st.seen = counts;
        await loadEmails();
      }
    } catch (err) {
      if (stopped) return;
      if (!st.campaign) {
        replace(head, h("h1", { id: "campaign-title" }, "Campaign " + id),
          h("p", { class: "alert", role: "alert" }, "The campaign could not be loaded: " + problem(err)));
        return;
      }
      flash("Could not refresh the campaign: " + problem(err), "error");
    }
    if (!stopped && !FINAL.has(st.campaign.status)) {
      timer = setTimeout(refresh, pollDelay(st.campaign));
    }
  }

  async function loadEmails() {
    listBox.setAttribute("aria-busy", "true");
    try {
      await readEmails();
    } finally {
      listBox.setAttribute("aria-busy", "false");
    }
  }

  async function readEmails() {
    const q = "?limit=1000" + (st.filter ? "&status=" + encodeURIComponent(st.filter) : "");
    const all = [];
    try {
      let cursor = "";
      do {
        const res = await call("GET", paths.emails(id) + q + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
        all.push(...(res.data.emails || []));
        cursor = res.data.next_cursor || "";
      } while (cursor && !stopped);
    } catch (err) {
      if (!stopped) flash("The emails could not be loaded: " + problem(err), "error");
      return;
    }
    if (stopped) return;
    // The selection as it is now: the person may have moved it while
    // the emails were being read.
    const keep = selected() ? selected().index : null;
    // An email changed here while the list was read (approved, edited)
    // is newer than what the read saw: keep it.
    const mine = new Map(st.emails.map((e) => [e.index, e]));
    st.emails = all.map((e) => (mine.get(e.index)?.version > e.version ? mine.get(e.index) : e));
    const at = keep === null ? -1 : all.findIndex((e) => e.index === keep);
    st.sel = at >= 0 ? at : all.length ? 0 : -1;
    renderList();
    if (st.mode === "view") renderDetail();
  }

  function selected() {
    return st.emails[st.sel] || null;
  }

  function renderHead() {
    const c = st.campaign;
    const count = (key, label, title) => h("li", { class: "count-" + key, title: title || "" },
      h("b", {}, c[key] ?? 0), h("span", {}, label));
    const finished = FINAL.has(c.status);
    const includeFlagged = h("input", { type: "checkbox", id: "retry-flagged" });
    replace(head,
      h("div", { class: "row" },
        h("h1", { id: "campaign-title" }, c.name || "Campaign"), badge(c.status),
        h("span", { class: "muted small" }, c.campaign_id)),
      h("label", { for: "progress", class: "small muted" }, finished
        ? "All " + c.total + " prospects done."
        : done(c) + " of " + c.total + " prospects done; this page follows along."),
      h("progress", { id: "progress", max: c.total || 1, value: done(c) }),
      h("ul", { class: "counts", "aria-label": "Counts" },
        count("pending", "Pending"), count("succeeded", "Succeeded"), count("needs_review", "Needs review", "Flagged by the quality check"),
        count("failed", "Failed"), ...(c.skipped ? [count("skipped", "Skipped", "A budget left no room for their model call")] : []),
        count("unreviewed", "To review"), count("approved", "Approved"), count("rejected", "Rejected")),
      h("div", { class: "toolbar" },
        h("button", { type: "button", class: "primary", id: "download-approved", disabled: !c.approved,
          onclick: () => download("approved") }, "Download approved CSV (" + (c.approved || 0) + ")"),
        h("button", { type: "button", id: "download-all", onclick: () => download("") }, "Download all as CSV"),
        h("span", { class: "spacer" }),
        h("button", { type: "button", id: "retry", disabled: !finished || c.status === "cancelled",
          title: finished ? "" : "Retry is possible once the campaign has finished",
          onclick: () => retry(includeFlagged.checked) }, "Retry failed (" + ((c.failed || 0) + (c.skipped || 0)) + ")"),
        h("span", { class: "row" }, includeFlagged, h("label", { for: "retry-flagged" }, "and the flagged ones not yet approved"))));
  }

  function renderList() {
    if (!st.emails.length) {
      replace(listBox, h("p", { class: "empty" }, st.filter ? "No email matches this filter." : "No email yet."));
      return;
    }
    const rows = st.emails.map((e, i) => h("tr", {
      id: "email-" + e.index, dataset: { index: e.index }, "aria-selected": i === st.sel ? "true" : "false",
      onclick: () => select(i),
    },
    h("td", { class: "num" }, e.index + 1),
    h("td", {}, badge(e.status)),
    h("td", { class: "review-cell" }, e.review && e.review !== "unreviewed" ? badge(e.review) : "", e.edited ? [" ", badge("edited")] : ""),
    h("td", { class: "subject" }, h("div", { class: "to" }, recipient(e.to)), h("div", {}, e.subject || e.error || "")),
    h("td", { class: "num" }, e.quality ? score(e.quality.score) : "")));
    replace(listBox, h("table", { role: "grid", "aria-label": "Emails", "aria-readonly": "true" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", class: "num" }, "#"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Review"),
        h("th", { scope: "col" }, "To · Subject"), h("th", { scope: "col", class: "num" }, "Score"))),
      h("tbody", {}, rows)));
    const row = listBox.querySelector('tr[aria-selected="true"]');
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  // recipient is "Ann Lee · Acme": whom the email is to, for the table.
  function recipient(to) {
    if (!to) return "";
    const name = [to.first_name, to.last_name].filter(Boolean).join(" ");
    return [name, to.company_name].filter(Boolean).join(" · ");
  }

  function score(n) {
    return h("span", { class: "score " + (n >= 80 ? "high" : n >= 50 ? "mid" : "low") }, n);
  }

  function select(i) {
    if (i < 0 || i >= st.emails.length || st.mode === "busy") return;
    st.sel = i;
    st.mode = "view";
    st.alert = "";
    for (const tr of listBox.querySelectorAll("tbody tr")) {
      tr.setAttribute("aria-selected", tr.dataset.index === String(st.emails[i].index) ? "true" : "false");
    }
    const row = listBox.querySelector('tr[aria-selected="true"]');
    if (row) row.scrollIntoView({ block: "nearest" });
    renderDetail();
  }

  function renderDetail() {
    const e = selected();
    if (!e) {
      replace(detail, h("p", { class: "empty" }, "Select an email to review it."));
      return;
    }
    const findings = (e.quality && e.quality.findings) || [];
    const parts = [
      h("div", { class: "row" },
        h("h2", { id: "detail-title" }, "Email " + (e.index + 1) + (e.ref ? " · " + e.ref : "")),
        badge(e.status), e.review && e.review !== "unreviewed" ? badge(e.review) : "", e.edited ? badge("edited") : "",
        e.quality ? h("span", { class: "small" }, "score ", score(e.quality.score)) : ""),
      h("p", { class: "small muted", id: "detail-to" }, "To: " + ([recipient(e.to), e.to && e.to.job_title].filter(Boolean).join(", ") || "—")),
    ];
    if (st.alert) {
      parts.push(h("p", { class: "alert", role: "alert", id: "detail-alert" }, st.alert));
    }
    if (st.mode === "edit") {
      parts.push(editForm(e));
    } else {
      if (e.status === "pending") {
        parts.push(h("p", { class: "muted" }, "This email is still being written."));
      }
      if (e.error) {
        parts.push(h("p", { class: "alert", id: "email-error" }, e.error));
      }
      if (e.subject || e.body) {
        parts.push(h("p", { class: "subject-line", id: "email-subject" }, marked(e.subject, findings)));
        parts.push(h("pre", { class: "email-body", id: "email-body" }, marked(e.body, findings)));
      }
      if (findings.length) {
        parts.push(h("h3", {}, "Quality findings"),
          h("ul", { class: "findings", id: "findings" }, findings.map((f) =>
            h("li", {}, h("span", { class: "sev " + f.severity }, f.severity), h("span", {}, f.message), h("code", {}, f.code)))));
      }
      if (e.note) {
        parts.push(h("h3", {}, "Note"), h("p", { id: "email-note" }, e.note));
      }
      const more = e.variants || e.sequence;
      if (more && more.length > 1) {
        parts.push(h("details", {}, h("summary", {}, "All " + more.length + (e.sequence ? " emails of the sequence" : " variants") +
          " (review and edits apply to the first)"),
        more.map((m, i) => h("div", {}, h("h3", {}, (e.sequence ? "Email " : "Variant ") + (i + 1)),
          h("p", { class: "subject-line" }, m.subject), h("pre", { class: "email-body" }, m.body)))));
      }
      if (e.edited && e.draft) {
        parts.push(h("details", {}, h("summary", {}, "The model's draft, before it was edited"),
          h("p", { class: "subject-line" }, e.draft.subject), h("pre", { class: "email-body" }, e.draft.body)));
      }
      if (st.mode === "regen") {
        parts.push(regenForm(e));
      } else if (st.mode === "busy") {
        parts.push(h("p", { class: "muted", id: "busy" }, "Working…"));
      } else {
        const draft = e.status === "succeeded" || e.status === "needs_review";
        parts.push(h("div", { class: "actions" },
          h("button", { type: "button", class: "approve", id: "approve", disabled: !draft, onclick: () => decide("approved") }, "Approve ", h("kbd", {}, "a")),
          h("button", { type: "button", class: "reject", id: "reject", disabled: !draft, onclick: () => decide("rejected") }, "Reject ", h("kbd", {}, "r")),
          h("button", { type: "button", id: "edit", disabled: !draft, onclick: startEdit }, "Edit ", h("kbd", {}, "e")),
          h("button", { type: "button", id: "regenerate", disabled: e.status === "pending", onclick: startRegen }, "Regenerate ", h("kbd", {}, "g"))));
      }
    }
    replace(detail, parts);
  }

  function editForm(e) {
    const subject = h("input", { type: "text", id: "edit-subject", value: e.subject || "" });
    const body = h("textarea", { id: "edit-body", rows: 14, value: e.body || "" });
    const note = h("textarea", { id: "edit-note", rows: 2, value: e.note || "", placeholder: "Why you changed it, for the next reviewer" });
    const save = () => saveEdit(e, { subject: subject.value, body: body.value, note: note.value });
    const form = h("form", { id: "edit-form", onsubmit: (ev) => { ev.preventDefault(); save(); } },
      h("div", { class: "field" }, h("label", { for: "edit-subject" }, "Subject"), subject),
      h("div", { class: "field" }, h("label", { for: "edit-body" }, "Body"), body),
      h("div", { class: "field" }, h("label", { for: "edit-note" }, "Note ", h("span", { class: "hint" }, "(optional)")), note),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "save" }, "Save ", h("kbd", {}, "Enter")),
        h("button", { type: "button", id: "cancel", onclick: cancel }, "Cancel ", h("kbd", {}, "Esc"))));
    form.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        cancel();
      } else if (ev.key === "Enter" && (ev.target === subject || ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        save();
      }
    });
    queueMicrotask(() => body.focus());
    return form;
  }

  function regenForm(e) {
    const input = h("input", { type: "text", id: "regen-instructions", maxlength: 500,
      placeholder: "e.g. shorter; mention their new office" });
    const form = h("form", { id: "regen-form", onsubmit: (ev) => { ev.preventDefault(); regenerate(e, input.value.trim()); } },
      h("div", { class: "field" }, h("label", { for: "regen-instructions" }, "Instructions for the new draft ",
        h("span", { class: "hint" }, "(optional; the current text is replaced, and your edits with it)")), input),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "regen-go" }, "Write a new draft ", h("kbd", {}, "Enter")),
        h("button", { type: "button", onclick: cancel }, "Cancel ", h("kbd", {}, "Esc"))));
    form.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        cancel();
      }
    });
    queueMicrotask(() => input.focus());
    return form;
  }

  function startEdit() {
    const e = selected();
    if (!e || !(e.status === "succeeded" || e.status === "needs_review")) return;
    st.mode = "edit";
    st.alert = "";
    renderDetail();
  }

  function startRegen() {
    const e = selected();
    if (!e || e.status === "pending") return;
    st.mode = "regen";
    st.alert = "";
    renderDetail();
  }

  function cancel() {
    st.mode = "view";
    renderDetail();
    listBox.focus();
  }

  // put replaces an email in the list with the API's newer view of it.
  function put(view) {
    const i = st.emails.findIndex((x) => x.index === view.index);
    if (i >= 0) st.emails[i] = view;
  }

  // change PATCHes the selected email, conditional on the version shown.
  async function change(e, body) {
    const res = await call("PATCH", paths.email(id, e.index), { body, headers: { "If-Match": etag(e.version) } });
    put(res.data);
    return res.data;
  }

  // stale handles a 412: someone changed the email since it was read.
  async function stale(e, what) {
    st.alert = "This email was changed by someone else since you opened it, so your " + what +
      " was not saved. It now shows the current version: check it and try again.";
    try {
      const res = await call("GET", paths.email(id, e.index));
      put(res.data);
    } catch (err) {
      st.alert += " (Reloading it failed: " + problem(err) + ")";
    }
  }

  async function decide(review) {
    const e = selected();
    if (!e || st.mode !== "view" || !(e.status === "succeeded" || e.status === "needs_review")) return;
    st.mode = "busy";
    renderDetail();
    let moved = false;
    try {
      await change(e, { review });
      st.alert = "";
      st.mode = "view";
      renderList();
      if (review !== "unreviewed" && st.sel < st.emails.length - 1) {
        select(st.sel + 1); // the next one, as a reviewer goes down the list
        moved = true;
      }
    } catch (err) {
      if (err instanceof APIError && err.status === 412) {
        await stale(e, "decision");
      } else {
        st.alert = "Not saved: " + problem(err);
      }
      st.mode = "view";
      renderList();
    }
    if (!moved) renderDetail();
    refreshCounts();
  }

  async function saveEdit(e, edit) {
    const body = {};
    if (edit.subject !== (e.subject || "")) body.subject = edit.subject;
    if (edit.body !== (e.body || "")) body.body = edit.body;
    if (edit.note !== (e.note || "")) body.note = edit.note;
    if (!Object.keys(body).length) {
      cancel();
      return;
    }
    st.mode = "busy";
    renderDetail();
    try {
      const v = await change(e, body);
      st.alert = "";
      flash("Saved email " + (v.index + 1) + (v.quality ? "; quality score " + v.quality.score : "") + ".");
    } catch (err) {
      if (err instanceof APIError && err.status === 412) {
        await stale(e, "edit");
      } else {
        st.alert = "Not saved: " + problem(err);
        st.mode = "edit"; // keep what they typed
        renderDetail();
        restore(edit);
        return;
      }
    }
    st.mode = "view";
    renderList();
    renderDetail();
    refreshCounts();
  }

  // restore puts back what the person typed after a failed save.
  function restore(edit) {
    detail.querySelector("#edit-subject").value = edit.subject;
    detail.querySelector("#edit-body").value = edit.body;
    detail.querySelector("#edit-note").value = edit.note;
  }

  async function regenerate(e, instructions) {
    st.mode = "busy";
    renderDetail();
    try {
      const res = await call("POST", paths.regenerate(id, e.index), {
        body: instructions ? { instructions } : {},
        headers: { "If-Match": etag(e.version) },
      });
      put(res.data);
      st.alert = "";
      flash("A new draft of email " + (e.index + 1) + " was written.");
    } catch (err) {
      if (err instanceof APIError && err.status === 412) {
        await stale(e, "request");
      } else {
        st.alert = "No new draft: " + problem(err);
      }
    }
    st.mode = "view";
    renderList();
    renderDetail();
    refreshCounts();
  }

  async function refreshCounts() {
    try {
      const res = await call("GET", paths.campaign(id));
      if (stopped) return;
      st.campaign = res.data;
      renderHead();
    } catch {
      // the next action or refresh says it
    }
  }

  async function retry(flagged) {
    try {
      const res = await call("POST", paths.retry(id) + (flagged ? "?include=needs_review" : ""));
      flash((res.data.retried ?? 0) + " prospects are being written again.");
      st.seen = "";
      refresh();
    } catch (err) {
      flash("Retry refused: " + problem(err), "error");
    }
  }

  // download saves the campaign's emails as CSV (only those of status,
  // when given). The file comes through fetch, with the key, as a Blob:
  // a link would need the key in its URL. A deployment that caps answer
  // sizes sends the file in parts, each naming the next.
  async function download(status) {
    const base = paths.emails(id) + "?format=csv" + (status ? "&status=" + encodeURIComponent(status) : "");
    const parts = [];
    try {
      let cursor = "";
      do {
        const res = await call("GET", base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""), { as: "blob" });
        parts.push(res.data);
        cursor = res.headers.get("X-Next-Cursor") || "";
      } while (cursor);
    } catch (err) {
      flash("The CSV could not be downloaded: " + problem(err), "error");
      return;
    }
    const name = (st.campaign && st.campaign.name ? st.campaign.name : id).replace(/[^\w.-]+/g, "-") +
      (status ? "-" + status : "") + ".csv";
    const url = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    flash("Downloaded " + name + ".");
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (st.mode === "busy") return;
    if (st.mode !== "view") {
      if (ev.key === "Escape") {
        ev.preventDefault();
        cancel();
      }
      return;
    }
    const act = {
      j: () => select(st.sel + 1),
      ArrowDown: () => select(st.sel + 1),
      k: () => select(st.sel - 1),
      ArrowUp: () => select(st.sel - 1),
      a: () => decide("approved"),
      r: () => decide("rejected"),
      u: () => decide("unreviewed"),
      e: startEdit,
      g: startRegen,
    }[ev.key];
    if (act) {
      ev.preventDefault();
      act();
    }
  }

  refresh();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("keydown", onKey);
    },
  };
}

// Findings highlighted in an email's text. A lint finding's message quotes
// the text it is about in double quotes (internal/lint's quote: whitespace
// runs collapsed to one space, double quotes inside turned into single
// ones, cut with "…" past 60 characters); a finding with a quote member
// names it directly. Each quote found in the text is marked with the
// finding's severity, and the message is the mark's title.

import { h } from "./dom.js";

const rank = { error: 3, warning: 2, info: 1 };

// quotes are the bits of text a finding is about.
export function quotes(finding) {
  if (finding.quote) {
    return [finding.quote];
  }
  const out = [];
  for (const m of String(finding.message || "").matchAll(/"([^"]+)"/g)) {
    const q = m[1].replace(/…$/, "").trim();
    if (q) {
      out.push(q);
    }
  }
  return out;
}

// pattern finds q in the text it was quoted from, undoing what quoting did.
function pattern(q) {
  const parts = q.split(/\s+/).map((w) =>
    w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/'/g, "['\"]"));
  return new RegExp(parts.join("\\s+"), "g");
}

// ranges are the marked stretches of text: [start, end) with the worst
// severity and every message that covers them, in order, not overlapping.
export function ranges(text, findings) {
  const hits = [];
  for (const f of findings || []) {
    for (const q of quotes(f)) {
      for (const m of text.matchAll(pattern(q))) {
        if (m[0].length) {
          hits.push({ start: m.index, end: m.index + m[0].length, severity: f.severity, messages: [f.message] });
        }
      }
    }
  }
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  const out = [];
  for (const r of hits) {
    const last = out[out.length - 1];
    if (last && r.start < last.end) {
      last.end = Math.max(last.end, r.end);
      if ((rank[r.severity] || 0) > (rank[last.severity] || 0)) {
        last.severity = r.severity;
      }
      if (!last.messages.includes(r.messages[0])) {
        last.messages.push(r.messages[0]);
      }
    } else {
      out.push(r);
    }
  }
  return out;
}

// marked returns text as nodes, each finding's stretch in a <mark>.
export function marked(text, findings) {
  text = String(text || "");
  const nodes = [];
  let at = 0;
  for (const r of ranges(text, findings)) {
    if (r.start > at) {
      nodes.push(document.createTextNode(text.slice(at, r.start)));
    }
    nodes.push(h("mark", { class: r.severity || "info", title: r.messages.join("\n") }, text.slice(r.start, r.end)));
    at = r.end;
  }
  if (at < text.length) {
    nodes.push(document.createTextNode(text.slice(at)));
  }
  return nodes;
}

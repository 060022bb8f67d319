// h builds an element without ever parsing markup: text goes in as text
// nodes, so prospect data (names, companies, email text) can never become
// HTML. Attributes are set one by one; event handlers are functions, never
// strings.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = v;
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" && tag === "textarea") {
      el.textContent = v; // its default value, as markup would have it
    } else if (k === "value" || k === "checked" || k === "disabled" || k === "hidden") {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) {
      continue;
    }
    if (Array.isArray(c)) {
      append(el, c);
    } else if (c instanceof Node) {
      el.appendChild(c);
    } else {
      el.appendChild(document.createTextNode(String(c)));
    }
  }
}

// kbd is a keyboard hint: the key, and what it does.
export function kbd(key, what) {
  return h("span", {}, h("kbd", {}, key), " ", what);
}

// replace empties el and puts children in.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

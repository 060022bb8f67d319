// The API as the console calls it: every call sends the key the person
// entered, which lives in this tab's sessionStorage alone (never in a URL,
// never in localStorage). Paths are relative to the server's root, which
// is the folder above this module's (…/console/api.js): the page's own
// URL may be /dev, without the slash, under API Gateway's stage.

const KEY = "ingren.apiKey";
const base = new URL("../", import.meta.url);

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setAPIKey(key) {
  if (key) {
    sessionStorage.setItem(KEY, key);
  } else {
    sessionStorage.removeItem(KEY);
  }
}

// APIError is an answer other than 2xx, with the API's error envelope
// read: code, message and, for 422, the fields.
export class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "the API answered " + status);
    this.status = status;
    this.code = e.code || "";
    this.fields = e.fields || [];
    this.requestID = e.request_id || "";
  }

  // describe is the error as one line for a person.
  describe() {
    if (this.status === 401) {
      return "The API key was refused: check it and enter it again.";
    }
    if (this.status === 0) {
      return this.message;
    }
    let s = this.message;
    if (this.fields.length) {
      s += ": " + this.fields.map((f) => (f.field ? f.field + " " : "") + f.message).join("; ");
    }
    return s;
  }
}

// call sends one request and returns {status, headers, data}: data is the
// JSON answer, or a Blob when asked with as: "blob".
export async function call(method, path, { body, headers = {}, as = "json" } = {}) {
  const h = new Headers(headers);
  h.set("x-api-key", apiKey());
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob)) {
    h.set("Content-Type", "application/json");
    body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(new URL(path, base), { method, headers: h, body, cache: "no-store", credentials: "omit" });
  } catch (err) {
    throw new APIError(0, { error: { message: "The server could not be reached: " + err.message } });
  }
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {
      // not the JSON envelope (API Gateway's own answers, a proxy's)
    }
    if (res.status === 401) {
      // The key is wrong or was revoked: the page asks for it again.
      dispatchEvent(new CustomEvent("ingren:unauthorized"));
    }
    throw new APIError(res.status, data);
  }
  if (as === "blob") {
    return { status: res.status, headers: res.headers, data: await res.blob() };
  }
  const text = await res.text();
  return { status: res.status, headers: res.headers, data: text ? JSON.parse(text) : null };
}

export const paths = {
  campaigns: () => "api/v1/campaigns",
  campaign: (id) => "api/v1/campaigns/" + encodeURIComponent(id),
  emails: (id) => paths.campaign(id) + "/emails",
  email: (id, index) => paths.emails(id) + "/" + encodeURIComponent(index),
  regenerate: (id, index) => paths.email(id, index) + "/regenerate",
  retry: (id) => paths.campaign(id) + "/retry",
};

// etag is an email's version as an If-Match value.
export function etag(version) {
  return '"' + version + '"';
}

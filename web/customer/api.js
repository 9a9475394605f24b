// A client of tollgate's public /v1 API with one customer's API key: what an
// operator's own front end needs, and nothing else. Errors keep the
// gateway's JSON error ({"error": {"code", "message", ...}}) so that the page
// can show its message and read its details (a 402's plans).

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || "HTTP " + status);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.body = body || {};
  }
}

// A random Idempotency-Key (crypto.randomUUID needs a secure context; this
// does not).
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Client {
  constructor(key) {
    this.key = key;
  }

  async call(method, path, body, headers = {}) {
    const r = await fetch(path, {
      method, body, headers: { Authorization: "Bearer " + this.key, ...headers },
    });
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, json);
    return json;
  }

  get(path) {
    return this.call("GET", path);
  }

  // An image upload (quote or job): the raw bytes, typed as the file says.
  // The gateway reads the real format and size from the bytes themselves.
  upload(path, file, headers = {}) {
    return this.call("POST", path, file,
      { "Content-Type": file.type || "application/octet-stream", ...headers });
  }

  // GET /v1/jobs/{id}/events: calls onEvent(name, data) for each server-sent
  // event until the stream ends. fetch rather than EventSource, which cannot
  // send the Authorization header.
  async events(jobId, onEvent, signal) {
    const r = await fetch("/v1/jobs/" + encodeURIComponent(jobId) + "/events", {
      headers: { Authorization: "Bearer " + this.key, Accept: "text/event-stream" }, signal,
    });
    if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = parseEvent(block);
        if (message) onEvent(message.name, message.data);
      }
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length === 0) return null;
  try {
    return { name, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}

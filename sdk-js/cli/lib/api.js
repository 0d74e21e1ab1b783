// A client of edged's admin API (Cloudflare API v4 shapes).
export class ApiError extends Error {
  constructor(message, status, errors = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

export class Api {
  // base: the admin URL (http://127.0.0.1:8081); token: the bearer token.
  constructor(base, token) {
    this.base = base.replace(/\/+$/, '');
    this.token = token;
  }

  // Sends one request; resolves to the envelope's `result`, or rejects with
  // an ApiError carrying the API's own messages.  `accept` lists statuses
  // that resolve to the whole envelope instead of failing.
  async request(method, path, { json, body, accept = [] } = {}) {
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    }
    let res;
    try {
      res = await fetch(this.base + path, { method, headers, body });
    } catch (err) {
      const why = err.cause && err.cause.message ? err.cause.message : err.message;
      throw new ApiError(`cannot reach edged's admin API at ${this.base}: ${why}`, 0);
    }
    const text = await res.text();
    let envelope;
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new ApiError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    if (accept.includes(res.status)) return { status: res.status, ...envelope };
    if (!res.ok || envelope.success === false) {
      const errors = Array.isArray(envelope.errors) ? envelope.errors : [];
      const messages = errors.map((e) => e.message).filter(Boolean);
      const detail = messages.length > 0 ? messages.join('; ') : `HTTP ${res.status}`;
      throw new ApiError(detail, res.status, errors);
    }
    return envelope.result;
  }

  putTenant(account) {
    return this.request('PUT', `/edged/v1/tenants/${encodeURIComponent(account)}`, { json: {} });
  }

  // Uploads a module worker: resolves to the API's result ({ id, version_id, ... }).
  uploadScript(account, name, { code, mainModule = 'worker.js', bindings = [], compatibilityDate }) {
    const metadata = { main_module: mainModule, bindings };
    if (compatibilityDate) metadata.compatibility_date = compatibilityDate;
    const form = new FormData();
    form.append('metadata', new Blob([JSON.stringify(metadata)], { type: 'application/json' }), 'metadata.json');
    form.append(mainModule, new Blob([code], { type: 'application/javascript+module' }), mainModule);
    return this.request('PUT', `/client/v4/accounts/${encodeURIComponent(account)}/workers/scripts/${encodeURIComponent(name)}`, { body: form });
  }

  listRoutes(account) {
    return this.request('GET', `/client/v4/accounts/${encodeURIComponent(account)}/workers/routes`);
  }

  addRoute(account, pattern, script) {
    return this.request('POST', `/client/v4/accounts/${encodeURIComponent(account)}/workers/routes`, {
      json: { pattern, script },
      accept: [409],
    });
  }
}

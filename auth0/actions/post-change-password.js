/**
 * auth0-events: Auth0 Action for the "Post Change Password" trigger.
 *
 * Paste this whole file into a new Action (Actions > Library > Build Custom, trigger
 * "Post Change Password", Node 22) and add it to the flow. No npm dependencies.
 *
 * Secrets (Action > Secrets):
 *   EVENTS_API_URL    base URL of the auth0-events REST API including the stage,
 *                     e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/v1 (trailing slash ok)
 *   EVENTS_API_KEY    the API key of the deployment (sent as the x-api-key header)
 *   EVENTS_TENANT     optional: this tenant's name in the API path, e.g. "acme@eu". Default is
 *                     event.tenant.id (e.g. "acme"), which does NOT contain the region: tenants
 *                     outside the US-1 region (acme.eu.auth0.com, acme.us-3.auth0.com, ...) MUST set it.
 *   EVENTS_TIMEOUT_MS optional: per-attempt timeout in ms (default 5000)
 *
 * Sends POST {EVENTS_API_URL}/{tenant}/actions/post-change-password with a JSON body:
 *   { occurred_at, user: { user_id, email, email_verified, username, name, created_at, updated_at,
 *     phone_number }, connection: { id, name, strategy }, client: { client_id, name },
 *     request: { ip, user_agent, hostname }, transaction_id }   (only the fields Auth0 provides)
 * Never the password, metadata or secrets. One retry after 300 ms on network error, timeout, 5xx or
 * 429, with the identical body (so the server-side id is the same and the duplicate is removed).
 * A failure is logged (status or error name only) and never fails the password change.
 */

// ---- shared auth0-events code: keep identical in every auth0-events Action ----
const pick = (o, keys) => {
  if (!o || typeof o !== 'object') return undefined;
  const r = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  return Object.keys(r).length ? r : undefined;
};

const buildBody = (event) => ({
  occurred_at: new Date().toISOString(),
  user: pick(event.user, ['user_id', 'email', 'email_verified', 'username', 'name', 'created_at', 'updated_at', 'phone_number']) || {},
  connection: pick(event.connection, ['id', 'name', 'strategy']),
  client: pick(event.client, ['client_id', 'name']),
  request: pick(event.request, ['ip', 'user_agent', 'hostname']),
  transaction_id: (event.transaction && event.transaction.id) || undefined,
});

async function sendEvent(event, trigger) {
  const log = (msg) => console.log(`auth0-events ${trigger}: ${msg}`);
  try {
    const s = event.secrets || {};
    const tenant = s.EVENTS_TENANT || (event.tenant && event.tenant.id);
    if (!s.EVENTS_API_URL || !s.EVENTS_API_KEY || !tenant) return log('not sent: set the EVENTS_API_URL, EVENTS_API_KEY (and EVENTS_TENANT) secrets');
    const url = `${String(s.EVENTS_API_URL).replace(/\/+$/, '')}/${encodeURIComponent(tenant).replace(/%40/g, '@')}/actions/${trigger}`;
    const body = JSON.stringify(buildBody(event)); // built once: the retry sends the same occurred_at
    const timeoutMs = Number(s.EVENTS_TIMEOUT_MS) > 0 ? Number(s.EVENTS_TIMEOUT_MS) : 5000;
    let outcome = 'error';
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 300));
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': String(s.EVENTS_API_KEY) },
          body,
          signal: ac.signal,
        });
        await res.arrayBuffer().catch(() => undefined); // drain; the 202 body is {"id":"..."}
        if (res.ok) return;
        outcome = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) break; // other 4xx: retrying will not help
      } catch (err) {
        const code = err && err.cause && err.cause.code;
        outcome = ac.signal.aborted ? `timeout after ${timeoutMs} ms` : `${(err && err.name) || 'Error'}${code ? ` ${code}` : ''}`;
      } finally {
        clearTimeout(timer);
      }
    }
    log(`not delivered (${outcome})`);
  } catch (err) {
    log(`not delivered (${(err && err.name) || 'Error'})`);
  }
}
// ---- end of shared code ----

exports.onExecutePostChangePassword = async (event, api) => {
  await sendEvent(event, 'post-change-password');
};

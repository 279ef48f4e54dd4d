/**
 * Sign-out everywhere: the browser side (no framework). Each open tab listens to the user's own
 * session events with `SessionEventsClient` and signs the user out when one of them ends the
 * session (logout, password_changed, user_blocked, user_deleted), within a second of the push.
 *
 * Sign-in here is the local runtime's dev stand-in (POST dev/sign-in mints the two tokens Auth0
 * would issue). With Auth0's SPA SDK (@auth0/auth0-spa-js) the same two tokens come from:
 *
 *   const auth0 = await createAuth0Client({ domain, clientId, authorizationParams: { redirect_uri: location.origin } });
 *   await auth0.loginWithRedirect();                                  // then handleRedirectCallback()
 *   const user = (await auth0.getUser()).sub;
 *   const eventsToken = () => auth0.getTokenSilently({ authorizationParams: { audience: EVENTS_AUDIENCE, scope: 'listen:events:self' } });
 *   const apiToken = () => auth0.getTokenSilently({ authorizationParams: { audience: API_AUDIENCE } });
 *   // signing out: auth0.logout({ logoutParams: { returnTo: location.origin } })
 */
import { SessionEventsClient, SESSION_ENDING_TYPES, type SessionEvent } from 'auth0-events/client';

interface Session {
  user: string;
  eventsToken: string;
  apiToken: string;
}
interface Config {
  wsUrl: string;
  tenant: string;
}

const STORAGE_KEY = 'sign-out-example:session';
const el = (id: string) => document.getElementById(id) as HTMLElement;
let client: SessionEventsClient | undefined;

function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return s && typeof s.user === 'string' && typeof s.eventsToken === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

function show(state: 'signed-in' | 'signed-out', text: string): void {
  document.body.dataset.state = state;
  el('signed-in').hidden = state !== 'signed-in';
  el('signed-out').hidden = state !== 'signed-out';
  el('status').textContent = text;
}

function log(line: string): void {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${line}`;
  el('log').prepend(li);
}

/** Ends the session in this tab: stop listening, forget the tokens, show why. */
function signOut(reason: string, event?: SessionEvent): void {
  client?.close();
  client = undefined;
  localStorage.removeItem(STORAGE_KEY);
  document.body.dataset.reason = reason;
  document.body.dataset.signedOutAt = String(Date.now());
  show('signed-out', event ? `Signed out: ${event.type} for ${event.user_id} (event ${event.id}, at Auth0 ${event.date}).` : `Signed out: ${reason}.`);
}

function signedIn(config: Config, session: Session): void {
  delete document.body.dataset.reason;
  el('who').textContent = session.user;
  show('signed-in', `Signed in as ${session.user}.`);
  client = new SessionEventsClient({
    url: config.wsUrl,
    tenant: config.tenant,
    // With the SPA SDK: () => auth0.getTokenSilently({ authorizationParams: { audience, scope: 'listen:events:self' } })
    token: () => session.eventsToken,
  });
  client.on('state', (s) => {
    document.body.dataset.socket = s;
    el('socket').textContent = s;
  });
  client.on('error', (e) => log(`socket: ${e.message}`));
  client.on('event', (e) => {
    log(`${e.type} ${e.user_id ?? ''}`);
    // Not session-ending, but the user's refresh tokens are gone: the next silent renewal needs a sign-in.
    if (e.type === 'refresh_token_revoked' && e.user_id === session.user) log('refresh token revoked: the next token renewal will ask to sign in again');
  });
  // logout, password_changed, user_blocked, user_deleted (SESSION_ENDING_TYPES) of this user only.
  client.onSessionEnded(session.user, (e) => signOut(e.type, e));
  client.start();
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function main(): Promise<void> {
  const config = (await (await fetch('config.json')).json()) as Config;
  el('ending').textContent = SESSION_ENDING_TYPES.join(', ');
  el('sign-in').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = (el('user') as HTMLInputElement).value.trim();
    const res = await post('dev/sign-in', { user });
    const body = (await res.json()) as { events_token?: string; api_token?: string; message?: string };
    if (!res.ok || !body.events_token || !body.api_token) return void (el('status').textContent = `Sign-in failed: ${body.message ?? res.status}`);
    const session: Session = { user, eventsToken: body.events_token, apiToken: body.api_token };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    signedIn(config, session);
  });
  el('call-api').addEventListener('click', async () => {
    const session = loadSession();
    const res = await fetch('api/me', { headers: session ? { authorization: `Bearer ${session.apiToken}` } : {} });
    el('api').textContent = `${res.status} ${await res.text()}`;
  });
  el('sign-out').addEventListener('click', async () => {
    // As Auth0's logout does: the tenant logs a logout (`slo`), which signs the user out in every tab.
    const session = loadSession();
    if (session) await post('dev/sign-out', { user: session.user });
  });
  const session = loadSession();
  if (session) signedIn(config, session);
  else show('signed-out', 'Not signed in.');
}

void main();

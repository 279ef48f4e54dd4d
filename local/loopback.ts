/**
 * The local runtime's doors: which requests its two servers (REST :3000, WebSocket :3001) answer.
 *
 * Binding to 127.0.0.1 keeps the network out, but not a web page in the developer's own browser:
 *   - DNS rebinding: a page on `evil.example` whose name is then re-pointed at 127.0.0.1 is, to the
 *     browser, same-origin with `http://evil.example:3000`, so it may read `GET /local/state` (listener
 *     ids) and call the management endpoint. Its requests carry `Host: evil.example:3000`: a server
 *     that answers only its loopback names refuses them (the browser cannot forge Host).
 *   - A plain cross-origin page may still send "simple" requests (a `text/plain` POST) to
 *     `http://127.0.0.1:3001/@connections/{id}` without a preflight, and the response being unreadable
 *     does not stop the POST from being delivered. Browsers always send `Origin` on such a request;
 *     the management endpoint's real callers (the push, socket and closer handlers through the AWS
 *     SDK) never do, so any `Origin` there is refused.
 */

export interface DoorRefusal {
  status: 403;
  body: { error: string; message: string };
}

/** The `Host` values a loopback server on `port` answers: 127.0.0.1, localhost and [::1], with the port. */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/** Why a request with this `Host` header is refused by the loopback server on `port`, or undefined when it is one of its names. */
export function hostRefusal(host: string | undefined, port: number): DoorRefusal | undefined {
  const allowed = loopbackHosts(port);
  if (host !== undefined && allowed.includes(host.trim().toLowerCase())) return undefined;
  const shown = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
  return {
    status: 403,
    body: {
      error: 'foreign_host',
      message: `Refused: ${shown}. This local server answers only ${allowed.join(', ')} (a page on another name that resolves to this machine, DNS rebinding, must not reach it).`,
    },
  };
}

/** Why a request to the local WebSocket management endpoint is refused: a browser's (any `Origin`). */
export function managementOriginRefusal(origin: string | undefined): DoorRefusal | undefined {
  if (origin === undefined) return undefined;
  return {
    status: 403,
    body: {
      error: 'browser_request',
      message: `Refused: the management endpoint (@connections) takes no browser requests (Origin ${JSON.stringify(origin.slice(0, 100))}); only the push, socket and closer handlers call it, through the AWS SDK.`,
    },
  };
}

/** Realistic Auth0 Log Stream records (shapes as Auth0 delivers them) for tests and benchmarks. */

let seq = 0;
export function logId(): string {
  seq++;
  return `900202611220000000${String(seq).padStart(6, '0')}00000000000000000000000000000${String(seq).padStart(4, '0')}`;
}

export interface TestLogRecord {
  log_id: string;
  data: { type: string; date: string; log_id: string } & Record<string, unknown>;
}

export function logRecord(data: { type: string } & Record<string, unknown>, id = logId()): TestLogRecord {
  return { log_id: id, data: { date: '2026-11-22T10:00:00.000Z', client_id: 'cl_abc', client_name: 'Acme Web', ip: '203.0.113.9', ...data, log_id: id } };
}

export const records = {
  registered: (user: string) =>
    logRecord({ type: 'ss', user_id: user, user_name: `${user}@acme.test`, connection: 'Username-Password-Authentication', description: '' }),
  passwordChanged: (user: string) => logRecord({ type: 'scp', user_id: user, description: 'Password changed successfully' }),
  logout: (user: string, session = 'sess_123') =>
    logRecord({ type: 'slo', user_id: user, details: { session_id: session, return_to: 'https://app.acme.test/' } }),
  login: (user: string) => logRecord({ type: 's', user_id: user, details: { session_id: 'sess_login' } }),
  apiOperation: (method: string, path: string, body: Record<string, unknown> = {}) =>
    logRecord({
      type: 'sapi',
      description: method === 'delete' ? 'Delete a User' : 'Update a User',
      details: {
        request: { method, path, body, auth: { strategy: 'jwt', user: { name: 'admin' } } },
        response: { statusCode: method === 'delete' ? 204 : 200, body: {} },
      },
    }),
  blocked: (user: string) => records.apiOperation('patch', `/api/v2/users/${encodeURIComponent(user)}`, { blocked: true }),
  unblocked: (user: string) => records.apiOperation('patch', `/api/v2/users/${encodeURIComponent(user)}`, { blocked: false }),
  deleted: (user: string) => records.apiOperation('delete', `/api/v2/users/${encodeURIComponent(user)}`),
  refreshRevoked: (user: string) => logRecord({ type: 'srrt', user_id: user, description: 'Successfully revoked a Refresh Token' }),
  failedLogin: (user: string) => logRecord({ type: 'fp', user_id: user, description: 'Wrong email or password.' }),
  warning: () => logRecord({ type: 'w', description: 'Deprecation warning' }),
};

/** A mixed batch of n records of many types, as a real tenant produces. */
export function mixedBatch(n: number, tenantUsers = 20) {
  const makers = [records.login, records.failedLogin, records.logout, records.passwordChanged, records.registered, records.blocked, records.refreshRevoked];
  return Array.from({ length: n }, (_, i) => (i % 11 === 10 ? records.warning() : makers[i % makers.length](`auth0|user${i % tenantUsers}`)));
}

export const TEST_TENANTS = JSON.stringify([
  { name: 'acme', audience: 'https://events.acme.test' },
  { name: 'acme@eu', audience: 'https://events.acme.test', customDomain: 'login.acme.test' },
]);

/** An API Gateway REST proxy event for the ingest Lambda. */
export function apiEvent(opts: { tenant: string; body: string | null; trigger?: string; contentType?: string | null; base64?: boolean }) {
  const resource = opts.trigger !== undefined ? '/{tenant}/actions/{trigger}' : '/{tenant}/log-stream';
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['Content-Type'] = opts.contentType ?? 'application/json';
  return {
    resource,
    path: resource.replace('{tenant}', opts.tenant).replace('{trigger}', opts.trigger ?? ''),
    httpMethod: 'POST',
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { tenant: opts.tenant, ...(opts.trigger !== undefined ? { trigger: opts.trigger } : {}) },
    stageVariables: null,
    requestContext: {} as never,
    body: opts.base64 && opts.body !== null ? Buffer.from(opts.body).toString('base64') : opts.body,
    isBase64Encoded: !!opts.base64,
  };
}

/**
 * Tenants: `acme` = acme.auth0.com, `acme@eu` = acme.eu.auth0.com, `acme@us-3` = acme.us-3.auth0.com.
 * Shared by the CDK configuration (validated at synth) and the handlers (resolved per request
 * from the TENANTS environment variable, or the file TENANTS_FILE names), so both agree on what a
 * tenant name means.
 */
import { readFileSync } from 'node:fs';

export interface TenantConfig {
  /** Path segment `{tenant}`: `acme`, `acme@eu`, `acme@us-3`. */
  name: string;
  /** The events API identifier: the `aud` that access tokens for listeners must carry. */
  audience: string;
  /**
   * A custom domain (e.g. `login.acme.com`); then the token issuer is `https://<customDomain>/`.
   * @default - the tenant's Auth0 domain
   */
  customDomain?: string;
  /**
   * Let the token's `scope` claim grant `listen:events` / `listen:events:self` (besides the
   * `permissions` claim). Safe only when the Auth0 API has RBAC on, or an Action strips scopes the
   * user was not given: with RBAC off Auth0 grants any scope an application requests.
   * @default false
   */
  trustScopeClaim?: boolean;
  /**
   * Overrides the issuer entirely (the local runtime's `dev` tenant: `http://127.0.0.1:3000/`).
   * @default - from the domain
   */
  issuer?: string;
  /**
   * The Amazon EventBridge partner event sources of this tenant's Auth0 Log Streams and Event Streams
   * (the "Event Source Name" Auth0 shows, e.g. `aws.partner/auth0.com/acme-0123abcd-.../auth0.logs`):
   * the stack creates a partner event bus and a rule for each (lib/eventbridge-front-door.ts; docs/auth0-setup.md,
   * "Auth0 through Amazon EventBridge"). A source belongs to one tenant.
   * @default - none: no EventBridge front door for this tenant
   */
  eventBridgeSources?: string[];
  /**
   * Poll this tenant's logs through the Auth0 Management API (`GET /api/v2/logs`, lambda/ingest/poller;
   * README, "Polling Auth0's log API"): the way in for a tenant without a Log Stream, and what
   * `npm run backfill` reads.
   * @default - not polled
   */
  managementApi?: ManagementApiConfig;
}

/** Where and how the poller reaches a tenant's Management API. */
export interface ManagementApiConfig {
  /**
   * The Management API's domain: `acme.eu.auth0.com` (https), or an `http://127.0.0.1:<port>` origin
   * (only the local runtime and tests: a stand-in for Auth0 on this machine).
   * @default - the tenant's Auth0 domain (auth0Domain(name)); a custom domain is not used
   */
  domain?: string;
  /**
   * The name or ARN of the Secrets Manager secret holding the machine-to-machine application's
   * credentials as JSON `{"client_id": "...", "client_secret": "..."}` (the application needs the
   * `read:logs` scope of the Management API). Only the name is in the configuration; the poller reads
   * the secret at run time.
   */
  secret: string;
  /**
   * The customer-managed KMS key that encrypts the secret, when it is not the AWS-managed
   * `aws/secretsmanager` key: the poller gets kms:Decrypt on it (through Secrets Manager only).
   * @default - the AWS-managed key (no KMS grant needed)
   */
  secretKeyArn?: string;
}

/** The Management API origin of a tenant (`https://acme.eu.auth0.com`, or the configured loopback origin). */
export function managementApiOrigin(tenant: TenantConfig): string | undefined {
  const api = tenant.managementApi;
  if (!api) return undefined;
  const domain = api.domain ?? auth0Domain(tenant.name);
  return /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain}`;
}

/** A loopback origin (`http://127.0.0.1:<port>`, `http://localhost:<port>`): the only http origins a poller may call. */
export const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;

/** The problem with a `managementApi` setting, or undefined when it is valid. */
export function managementApiProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return 'managementApi must be an object {"secret": "<Secrets Manager secret name or ARN>", "domain"?: "<tenant>.auth0.com"}';
  const m = v as Record<string, unknown>;
  for (const key of Object.keys(m))
    if (!['domain', 'secret', 'secretKeyArn'].includes(key)) return `managementApi.${key} is not a known setting; known settings: domain, secret, secretKeyArn`;
  if (typeof m.secret !== 'string' || !(SECRET_NAME.test(m.secret) || SECRET_ARN.test(m.secret))) {
    return `managementApi.secret ${JSON.stringify(m.secret)} must be the name or ARN of a Secrets Manager secret holding {"client_id", "client_secret"} (never the credentials themselves)`;
  }
  if (m.domain !== undefined && (typeof m.domain !== 'string' || !(DOMAIN_PATTERN.test(m.domain) || LOOPBACK_ORIGIN.test(m.domain)))) {
    return `managementApi.domain ${JSON.stringify(m.domain)} must be a host name such as acme.eu.auth0.com (no scheme, no path), or an http://127.0.0.1:<port> stand-in`;
  }
  if (m.secretKeyArn !== undefined && (typeof m.secretKeyArn !== 'string' || !KMS_KEY_ARN.test(m.secretKeyArn))) {
    return `managementApi.secretKeyArn ${JSON.stringify(m.secretKeyArn)} must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`;
  }
  return undefined;
}

export interface Tenant extends TenantConfig {
  /** The Auth0 domain: `acme.eu.auth0.com`. */
  domain: string;
  /** The `iss` of the tenant's tokens, with its trailing slash. */
  issuer: string;
  jwksUri: string;
}

export const TENANT_NAME_PATTERN = /^([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)(?:@((?:eu|us|au|jp|uk|ca)(?:-[0-9]{1,2})?))?$/;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** The problem with a tenant configuration entry, or undefined when it is valid. */
export function tenantConfigProblem(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return 'must be an object with name and audience';
  const c = config as Record<string, unknown>;
  if (typeof c.name !== 'string' || !TENANT_NAME_PATTERN.test(c.name)) {
    return `name ${JSON.stringify(c.name)} is not a tenant name: use the Auth0 tenant name, with @<region> for regional tenants (acme, acme@eu, acme@us-3; regions eu, us, au, jp, uk, ca, optionally numbered)`;
  }
  if (typeof c.audience !== 'string' || c.audience.trim() === '')
    return 'audience must be the events API identifier (a non-empty string, e.g. https://events.acme.com)';
  if (c.customDomain !== undefined && (typeof c.customDomain !== 'string' || !DOMAIN_PATTERN.test(c.customDomain))) {
    return `customDomain ${JSON.stringify(c.customDomain)} must be a host name such as login.acme.com (no scheme, no path)`;
  }
  if (c.trustScopeClaim !== undefined && typeof c.trustScopeClaim !== 'boolean')
    return 'trustScopeClaim must be true or false (default false: only the permissions claim grants listen:events)';
  if (c.issuer !== undefined && (typeof c.issuer !== 'string' || !/^https?:\/\/[^/]+\/$/.test(c.issuer))) {
    return `issuer ${JSON.stringify(c.issuer)} must be an origin URL ending in a slash, such as http://127.0.0.1:3000/`;
  }
  if (c.managementApi !== undefined) return managementApiProblem(c.managementApi);
  return undefined;
}

/**
 * An Auth0 partner event source name: Auth0's prefix, then what EventBridge allows in an event bus
 * name (which must equal the source's name), at most 256 characters
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html).
 */
export const EVENTBRIDGE_SOURCE_PREFIX = 'aws.partner/auth0.com/';
const EVENTBRIDGE_SOURCE_PATTERN = /^aws\.partner\/auth0\.com\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/;

/** Why `v` is not an Auth0 partner event source name, or undefined when it is one. */
export function eventBridgeSourceProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `must be a partner event source name (a string), not ${JSON.stringify(v)}`;
  if (!v.startsWith(EVENTBRIDGE_SOURCE_PREFIX))
    return `${JSON.stringify(v.slice(0, 80))} is not an Auth0 partner event source: it must start with ${EVENTBRIDGE_SOURCE_PREFIX} (copy the Event Source Name from the stream's settings in the Auth0 Dashboard)`;
  if (v.length > 256 || !EVENTBRIDGE_SOURCE_PATTERN.test(v))
    return `${JSON.stringify(v.slice(0, 80))} must be ${EVENTBRIDGE_SOURCE_PREFIX}<tenant>-<id>/<stream>, at most 256 characters of letters, digits, ".", "_", "-" and "/"`;
  return undefined;
}

/** Every partner event source of the tenants, with its tenant's name. */
export function eventBridgeSourceTenants(tenants: Iterable<TenantConfig>): Map<string, string> {
  return new Map([...tenants].flatMap((t) => (t.eventBridgeSources ?? []).map((s) => [s, t.name] as [string, string])));
}

/** The Auth0 domain of a tenant name (`acme@eu` -> `acme.eu.auth0.com`). */
export function auth0Domain(name: string): string {
  const m = TENANT_NAME_PATTERN.exec(name);
  if (!m) throw new Error(`not a tenant name: ${JSON.stringify(name)}`);
  return m[2] ? `${m[1]}.${m[2]}.auth0.com` : `${m[1]}.auth0.com`;
}

export function toTenant(config: TenantConfig): Tenant {
  const domain = config.customDomain ?? auth0Domain(config.name);
  const issuer = config.issuer ?? `https://${domain}/`;
  return { ...config, domain, issuer, jwksUri: `${issuer}.well-known/jwks.json` };
}

/** Parses and validates a tenants list (the TENANTS environment variable's JSON). */
export function parseTenants(json: string | undefined): Map<string, Tenant> {
  let list: unknown;
  try {
    list = JSON.parse(json ?? '');
  } catch {
    throw new Error('TENANTS must be a JSON array of {name, audience, customDomain?}');
  }
  if (!Array.isArray(list) || list.length === 0) throw new Error('TENANTS must be a non-empty JSON array');
  const tenants = new Map<string, Tenant>();
  list.forEach((entry, i) => {
    const problem = tenantConfigProblem(entry);
    if (problem) throw new Error(`TENANTS[${i}]: ${problem}`);
    const t = toTenant(entry as TenantConfig);
    if (tenants.has(t.name)) throw new Error(`TENANTS[${i}]: tenant ${t.name} is listed twice`);
    tenants.set(t.name, t);
  });
  return tenants;
}

let cached: { json: string | undefined; tenants: Map<string, Tenant> } | undefined;
let file: { path: string; json: string } | undefined;

/**
 * The tenants' JSON: TENANTS when set (the local runtime, tests), else the file TENANTS_FILE names
 * (deployed functions: lib/tenants-file.ts puts the file in a Lambda layer, since the whole list does
 * not fit Lambda's 4 KB of environment variables), read once per path.
 */
function tenantsJson(): string | undefined {
  if (process.env.TENANTS !== undefined) return process.env.TENANTS;
  const path = process.env.TENANTS_FILE;
  if (!path) return undefined;
  if (file?.path !== path) {
    try {
      file = { path, json: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new Error(
        `TENANTS_FILE ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the function needs its tenants layer`,
      );
    }
  }
  return file.json;
}

/** Whether this process is configured with tenants (TENANTS or TENANTS_FILE). */
export function tenantsConfigured(): boolean {
  return Boolean(process.env.TENANTS || process.env.TENANTS_FILE);
}

/** The tenants this deployment serves, from TENANTS or TENANTS_FILE (parsed once per value). */
export function configuredTenants(): Map<string, Tenant> {
  const json = tenantsJson();
  if (!cached || cached.json !== json) cached = { json, tenants: parseTenants(json) };
  return cached.tenants;
}

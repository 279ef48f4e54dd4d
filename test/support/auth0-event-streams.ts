/**
 * Auth0 Event Streams CloudEvents, written from Auth0's documented examples (not from this code):
 * - https://auth0.com/docs/customize/events/event-types ("Event object": the user object's fields,
 *   email, email_verified, family_name, given_name, name, nickname, phone_number, phone_verified,
 *   user_metadata, app_metadata, identities, created_at, updated_at, picture; the type spelled
 *   `com.auth0.user.<event-type>`, the source `urn:auth0:<your-tenant>:users`);
 * - https://auth0.com/docs/events/user/user.created and .../user.updated (attributes specversion
 *   "1.0", type "user.created", source "urn:auth0:example.auth0app.com", id "evt_1234567890abcdef",
 *   time "2025-02-01T12:34:56Z", a0tenant "my-tenant", a0stream "est_1234567890abcdef");
 * - https://auth0.com/docs/events/organization/organization.member.added (id pattern evt_ + 22
 *   characters, data.object.organization {id, name} and data.object.user {user_id}); group.member.added
 *   (data.object.group, data.object.member {member_type "user", id}) per the Management API's
 *   EventStreamCloudEventGroupMemberAdded schema.
 * Only the tenant (domain, a0tenant) and the ids are changed per test.
 */

/** `user.created` as documented, for tenant `domain` (a0tenant its first label). */
export function userCreated(opts: { id?: string; domain?: string; userId?: string; time?: string; updatedAt?: string; email?: string; name?: string } = {}) {
  const domain = opts.domain ?? 'example.auth0app.com';
  const time = opts.time ?? '2025-02-01T12:34:56Z';
  return {
    specversion: '1.0',
    type: 'user.created',
    source: `urn:auth0:${domain}`,
    id: opts.id ?? 'evt_1234567890abcdef',
    time,
    data: {
      object: {
        user_id: opts.userId ?? 'auth0|507f1f77bcf86cd799439020',
        email: opts.email ?? 'john.doe@gmail.com',
        email_verified: false,
        family_name: 'Doe',
        given_name: 'John',
        name: opts.name ?? 'John Doe',
        nickname: 'john.doe',
        phone_number: '+14155552671',
        phone_verified: false,
        user_metadata: { hobby: 'surfing' },
        app_metadata: { external_user_id: 'ext-42' },
        identities: [{ connection: 'Username-Password-Authentication', user_id: '507f1f77bcf86cd799439020', provider: 'auth0', isSocial: false }],
        created_at: time,
        updated_at: opts.updatedAt ?? time,
        picture: 'https://s.gravatar.com/avatar/jd.png',
      },
    },
    a0tenant: domain.split('.')[0],
    a0stream: 'est_1234567890abcdef',
  };
}

/** `user.updated`: the same user object, with the changed fields and a later updated_at. */
export function userUpdated(
  opts: {
    id?: string;
    domain?: string;
    userId?: string;
    time?: string;
    createdAt?: string;
    updatedAt?: string;
    email?: string;
    name?: string;
    emailVerified?: boolean;
    blocked?: boolean;
  } = {},
) {
  const created = userCreated({ domain: opts.domain, userId: opts.userId, time: opts.createdAt ?? '2025-02-01T12:34:56Z' });
  const time = opts.time ?? '2025-02-01T13:00:00Z';
  return {
    ...created,
    type: 'user.updated',
    id: opts.id ?? 'evt_abcdef1234567890',
    time,
    data: {
      object: {
        ...created.data.object,
        email: opts.email ?? 'john.doe@example.com',
        email_verified: opts.emailVerified ?? true,
        name: opts.name ?? 'Johnny Doe',
        updated_at: opts.updatedAt ?? time,
        ...(opts.blocked !== undefined ? { blocked: opts.blocked } : {}),
      },
    },
  };
}

/** `user.deleted`: the user object and its deleted_at. */
export function userDeleted(opts: { id?: string; domain?: string; userId?: string; time?: string } = {}) {
  const created = userCreated({ domain: opts.domain, userId: opts.userId });
  const time = opts.time ?? '2025-02-02T09:00:00Z';
  return { ...created, type: 'user.deleted', id: opts.id ?? 'evt_deleted000000001', time, data: { object: { ...created.data.object, deleted_at: time } } };
}

/** A CloudEvent of `type` about `object`, with the documented attributes (reference pages above). */
function envelope(type: string, id: string, domain: string, object: Record<string, unknown>) {
  return {
    specversion: '1.0',
    type,
    source: `urn:auth0:${domain}`,
    id,
    time: '2025-02-01T12:34:56Z',
    data: { object },
    a0tenant: domain.split('.')[0],
    a0stream: 'est_vjFVP5pVdfvsfRKatshkVV',
  };
}

/** `organization.member.added`, as on its reference page. */
export function organizationMemberAdded(opts: { id?: string; domain?: string; userId?: string } = {}) {
  return envelope('organization.member.added', opts.id ?? 'evt_vjFVP5pVdfvsfRKatshkVV', opts.domain ?? 'example.auth0app.com', {
    organization: { id: 'org_9ybsU1dN2dKfDkBi', name: 'acme-corp' },
    user: { user_id: opts.userId ?? 'auth0|507f1f77bcf86cd799439020' },
  });
}

/** `group.member.added`: a user added to a group. */
export function groupMemberAdded(opts: { id?: string; domain?: string; userId?: string } = {}) {
  return envelope('group.member.added', opts.id ?? 'evt_groupmember0000000000', opts.domain ?? 'example.auth0app.com', {
    group: { id: 'grp_1', name: 'admins' },
    member: { member_type: 'user', id: opts.userId ?? 'auth0|507f1f77bcf86cd799439020' },
  });
}

/** An API Gateway REST proxy event for POST /{tenant}/event-stream. */
export function eventStreamRequest(tenant: string, body: unknown, contentType = 'application/json') {
  return {
    resource: '/{tenant}/event-stream',
    path: `/${tenant}/event-stream`,
    httpMethod: 'POST',
    headers: { 'Content-Type': contentType, Authorization: 'Bearer not-checked-here' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { tenant },
    stageVariables: null,
    requestContext: {} as never,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/**
 * POST /{tenant}/event-stream: Auth0 Event Streams CloudEvents (fixtures from Auth0's documented
 * examples, test/support/auth0-event-streams.ts), from the side of a sender that gets things wrong or
 * names another tenant. Expected values are written by hand.
 */
import './support/quiet-logs';
import { PublishBatchCommand } from '@aws-sdk/client-sns';
import { handler } from '../lambda/ingest/handler';
import { classifyCloudEvent, cloudEventTenantProblem, parseCloudEvent } from '../lambda/ingest/cloud-event';
import { parseCanonicalEvent } from '../lambda/shared/sqs-events';
import { groupUpdates, markerOf } from '../lambda/users-writer/handler';
import { toStoredEvent } from '../lambda/shared/stores';
import { eventStreamRequest, groupMemberAdded, organizationMemberAdded, userCreated, userDeleted, userUpdated } from './support/auth0-event-streams';
import { recordingSns } from './support/sns-recorder';

const { sns, messages } = recordingSns();
const RECEIVED = '2025-02-01T12:35:00.000Z';

async function post(tenant: string, body: unknown, contentType?: string) {
  const res = await handler(eventStreamRequest(tenant, body, contentType) as never);
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

describe('CloudEvent type -> canonical type (the table in docs/auth0-setup.md, written out by hand)', () => {
  test.each([
    ['user.created', 'user_registered'],
    ['com.auth0.user.created', 'user_registered'],
    ['user.updated', 'user_updated'],
    ['com.auth0.user.updated', 'user_updated'],
    ['user.deleted', 'user_deleted'],
    ['organization.created', 'organization_created'],
    ['organization.updated', 'organization_updated'],
    ['organization.deleted', 'organization_deleted'],
    ['organization.member.added', 'organization_member_added'],
    ['organization.member.deleted', 'organization_member_deleted'],
    ['organization.member.role.assigned', 'organization_member_role_assigned'],
    ['organization.member.role.deleted', 'organization_member_role_deleted'],
    ['organization.connection.added', 'organization_connection_added'],
    ['organization.connection.updated', 'organization_connection_updated'],
    ['organization.connection.removed', 'organization_connection_removed'],
    ['organization.group.role.assigned', 'organization_group_role_assigned'],
    ['organization.group.role.deleted', 'organization_group_role_deleted'],
    ['group.created', 'group_created'],
    ['group.updated', 'group_updated'],
    ['group.deleted', 'group_deleted'],
    ['group.member.added', 'group_member_added'],
    ['group.member.deleted', 'group_member_deleted'],
    ['group.role.assigned', 'group_role_assigned'],
    ['group.role.deleted', 'group_role_deleted'],
    ['connection.created', 'log'],
    ['user.renamed.in.the.future', 'log'],
  ])('%s -> %s, log_type without com.auth0., level 1, source event-stream', (type, canonical) => {
    const ce = parseCloudEvent({ ...organizationMemberAdded(), type, data: { object: { user_id: 'auth0|1', user: { user_id: 'auth0|1' } } } });
    const e = classifyCloudEvent(ce, 'acme', RECEIVED);
    expect(e).toMatchObject({ type: canonical, log_type: type.replace(/^com\.auth0\./, ''), level: 1, source: 'event-stream' });
  });

  test('user.created as documented: id ce_<CloudEvent id>, user from data.object, date = time, data = the CloudEvent', () => {
    const body = userCreated();
    const e = classifyCloudEvent(parseCloudEvent(body), 'acme', RECEIVED);
    expect(e).toEqual({
      id: 'ce_evt_1234567890abcdef',
      tenant: 'acme',
      type: 'user_registered',
      source: 'event-stream',
      log_type: 'user.created',
      level: 1,
      user_id: 'auth0|507f1f77bcf86cd799439020',
      date: '2025-02-01T12:34:56.000Z',
      received_at: RECEIVED,
      data: body,
    });
  });

  test.each([
    ['organization.member.added', organizationMemberAdded({ userId: 'auth0|member' }), 'auth0|member'],
    ['group.member.added (a user member)', groupMemberAdded({ userId: 'auth0|grouped' }), 'auth0|grouped'],
    [
      'group.member.added (a group member)',
      { ...groupMemberAdded(), data: { object: { group: { id: 'g' }, member: { member_type: 'group', id: 'grp_2' } } } },
      undefined,
    ],
  ])('%s names its user', (_, body, user) => {
    expect(classifyCloudEvent(parseCloudEvent(body), 'acme', RECEIVED).user_id).toBe(user);
  });
});

describe("the source must name the path's tenant", () => {
  const acme = { name: 'acme', audience: 'https://events.acme.test' };
  const acmeEu = { name: 'acme@eu', audience: 'https://events.acme.test', customDomain: 'login.acme.test' };
  test.each([
    [acme, 'urn:auth0:acme.auth0.com', undefined, true, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:ACME.Auth0.com', undefined, true, ['acme', 'acme@eu']],
    // The bare name (no region) is accepted only when no other served tenant shares it (alone: acme only):
    [acme, 'urn:auth0:acme', undefined, true, ['acme']],
    [acme, 'urn:auth0:acme:users', 'acme', true, ['acme']],
    [acme, 'urn:auth0:acme', undefined, false, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:acme:users', 'acme', false, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:acme:users', 'acme', false, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:acme:users', 'acme', true, ['acme@eu', 'globex']],
    [acme, 'urn:auth0:acme.auth0.com', 'acme', true, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:evil.auth0.com', undefined, false, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:acme.eu.auth0.com', undefined, false, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:acme.auth0.com.evil.test', undefined, false, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:acmex', undefined, false, ['acme', 'acme@eu']],
    [acme, 'https://acme.auth0.com/', undefined, false, ['acme', 'acme@eu']],
    [acme, 'acme.auth0.com', undefined, false, ['acme', 'acme@eu']],
    [acme, 'urn:auth0:acme.auth0.com', 'evil', false, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:acme.eu.auth0.com', 'acme', true, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:login.acme.test', undefined, true, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:acme.auth0.com', undefined, false, ['acme', 'acme@eu']],
    [acmeEu, 'urn:auth0:login.evil.test', undefined, false, ['acme', 'acme@eu']],
  ])('tenant %j, source %s, a0tenant %s: accepted %s (tenants served: %p)', (tenant, source, a0tenant, accepted, served) => {
    const ce = parseCloudEvent({ ...userCreated(), source, a0tenant });
    const problem = cloudEventTenantProblem(ce, tenant, served);
    if (accepted) expect(problem).toBeUndefined();
    else expect(problem).toMatch(/names another tenant|is not an Auth0 source|names only "acme", which is also the name of acme(@eu)? served here/);
  });

  test('through the handler: a CloudEvent of another tenant is a 403 naming both, and nothing is published', async () => {
    const r = await post('acme', userCreated({ domain: 'globex.auth0.com' }));
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'wrong_tenant', message: expect.stringContaining('urn:auth0:globex.auth0.com') });
    expect(r.body.message).toContain('acme');
    expect(messages).toEqual([]);
  });
});

describe('the webhook door', () => {
  test('a documented user.created for the path\'s tenant is published once with its attributes, 202 {"id"}', async () => {
    const r = await post('acme', userCreated({ domain: 'acme.auth0.com' }));
    expect(r).toEqual({ status: 202, body: { id: 'ce_evt_1234567890abcdef' } });
    expect(messages).toHaveLength(1);
    const entry = sns.commandCalls(PublishBatchCommand)[0].args[0].input.PublishBatchRequestEntries![0];
    expect(entry.MessageAttributes).toEqual({
      tenant: { DataType: 'String', StringValue: 'acme' },
      type: { DataType: 'String', StringValue: 'user_registered' },
      log_type: { DataType: 'String', StringValue: 'user.created' },
      level: { DataType: 'Number', StringValue: '1' },
      source: { DataType: 'String', StringValue: 'event-stream' },
    });
  });

  test('the type spelled com.auth0.user.created, and Content-Type application/cloudevents+json, are accepted', async () => {
    const r = await post('acme', { ...userCreated({ domain: 'acme.auth0.com' }), type: 'com.auth0.user.created' }, 'application/cloudevents+json');
    expect(r.status).toBe(202);
    expect(parseCanonicalEvent(messages[0]).type).toBe('user_registered');
  });

  test('the same CloudEvent delivered twice gets the same id (removed downstream), never a log_id or Action id', async () => {
    const a = await post('acme', userDeleted({ domain: 'acme.auth0.com' }));
    const b = await post('acme', userDeleted({ domain: 'acme.auth0.com' }));
    expect(a.body.id).toBe('ce_evt_deleted000000001');
    expect(b.body.id).toBe(a.body.id);
  });

  test('publishing fails: 503, so that Auth0 delivers it again', async () => {
    sns.on(PublishBatchCommand).rejects(Object.assign(new Error('unavailable'), { name: 'InternalErrorException' }));
    const r = await post('acme', userCreated({ domain: 'acme.auth0.com' }));
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('publish_failed');
  }, 20_000);
});

describe('what a broken or hostile sender gets: a 400 naming the problem, nothing published', () => {
  const good = () => userCreated({ domain: 'acme.auth0.com' });
  const without = (k: string) => {
    const b: Record<string, unknown> = good();
    delete b[k];
    return b;
  };
  test.each([
    ['no id', without('id'), /no "id"/],
    ['no source', without('source'), /no "source"/],
    ['no specversion', without('specversion'), /no "specversion"/],
    ['no type', without('type'), /no "type"/],
    ['no time', without('time'), /no "time"/],
    ['no data', without('data'), /no "data"/],
    ['specversion 0.3', { ...good(), specversion: '0.3' }, /"specversion" must be "1.0"/],
    ['specversion as a number', { ...good(), specversion: 1 }, /"specversion" must be "1.0"/],
    ['data a string', { ...good(), data: 'user' }, /"data" must be an object/],
    ['data an array', { ...good(), data: [] }, /"data" must be an object/],
    ['time not ISO 8601', { ...good(), time: 'yesterday' }, /"time" must be an ISO 8601/],
    ['time 30 February', { ...good(), time: '2025-02-30T00:00:00Z' }, /"time" must be/],
    ['id a number', { ...good(), id: 42 }, /"id" must be a non-empty string/],
    ['id of 600 bytes', { ...good(), id: `evt_${'x'.repeat(596)}` }, /"id" must be at most 509 bytes/],
    ['id with a control character', { ...good(), id: 'evt_\u0000' }, /"id" must not contain control characters/],
    ['source of 5,000 characters', { ...good(), source: `urn:auth0:${'a'.repeat(5000)}` }, /"source" must be a non-empty string of at most 1024/],
    ['type with a space', { ...good(), type: 'user created' }, /"type" must be printable ASCII without spaces/],
    ['type of 200 characters', { ...good(), type: 'u'.repeat(200) }, /"type" must be at most 64 characters/],
    ['a0tenant an object', { ...good(), a0tenant: { name: 'acme' } }, /"a0tenant" must be/],
    ['user.created without data.object.user_id', { ...good(), data: { object: { email: 'x@y.test' } } }, /needs "data.object.user_id"/],
    ['user_id of 600 bytes', { ...good(), data: { object: { user_id: `auth0|${'u'.repeat(600)}` } } }, /user_id .*must be at most 512 bytes/],
    [
      'nested 100 levels deep',
      { ...good(), data: { object: { user_id: 'auth0|1', deep: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) } } },
      /nests deeper than 64/,
    ],
    ['a JSON array (a Log Stream batch sent here)', [good()], /must be one CloudEvent .* not an array/],
    ['JSON null', null, /not null/],
  ])('%s', async (_, body, message) => {
    const r = await post('acme', body);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_cloud_event');
    expect(r.body.message).toMatch(message);
    expect(messages).toEqual([]);
  });

  test.each([
    ['not JSON', 'user.created please', 'invalid_json'],
    ['empty', '', 'empty_body'],
  ])('a body that is %s is a 400 %s', async (_, body, code) => {
    const r = await post('acme', body);
    expect(r).toEqual({ status: 400, body: { error: code, message: expect.any(String) } });
    expect(messages).toEqual([]);
  });

  test('an unknown tenant in the path is a 404', async () => {
    expect((await post('nobody', good())).status).toBe(404);
  });

  test('a 1 MB user_metadata is accepted, fits one SNS message (trimmed inside the user object), and the profile survives for the users table', async () => {
    const big = good();
    (big.data.object as Record<string, unknown>).user_metadata = { notes: 'n'.repeat(1_000_000) };
    const r = await post('acme', big);
    expect(r.status).toBe(202);
    expect(Buffer.byteLength(messages[0])).toBeLessThanOrEqual(262_144);
    const e = parseCanonicalEvent(messages[0]);
    expect(e).toMatchObject({ id: 'ce_evt_1234567890abcdef', type: 'user_registered', user_id: 'auth0|507f1f77bcf86cd799439020', truncated: true });
    const object = (e.data.data as { object: Record<string, unknown> }).object;
    expect(object).toMatchObject({
      user_id: 'auth0|507f1f77bcf86cd799439020',
      email: 'john.doe@gmail.com',
      name: 'John Doe',
      updated_at: '2025-02-01T12:34:56Z',
      truncated_fields: ['user_metadata'],
    });
    expect(
      groupUpdates(e)
        .filter((g) => g.marker === 'profile_event' || g.marker === 'email_event')
        .reduce((all, g) => ({ ...all, ...g.set }), {}),
    ).toMatchObject({ email: 'john.doe@gmail.com', name: 'John Doe' });
  });
});

test('every documented fixture, once accepted, is processable by every built-in subscriber', async () => {
  const d = 'acme.auth0.com';
  for (const body of [
    userCreated({ domain: d }),
    userUpdated({ domain: d }),
    userDeleted({ domain: d }),
    organizationMemberAdded({ domain: d }),
    groupMemberAdded({ domain: d }),
  ]) {
    messages.length = 0;
    expect((await post('acme', body)).status).toBe(202);
    const e = parseCanonicalEvent(messages[0]);
    groupUpdates(e);
    expect(markerOf(e)).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(toStoredEvent(e, new Date(RECEIVED)).pk).toBe(`acme#${e.id}`);
  }
});

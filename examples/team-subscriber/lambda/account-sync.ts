/**
 * The team's consumer: one validated canonical event at a time. A thrown error fails only that
 * record (retried, then the subscriber's DLQ); the others of the batch succeed.
 */
import type { CanonicalEvent } from 'auth0-events';
import { auth0EventsHandler } from 'auth0-events/handler';

export const handler = auth0EventsHandler(async (event: CanonicalEvent) => {
  // Your code: e.g. close the user's account in your own store.
  console.log(JSON.stringify({ msg: 'account-sync', id: event.id, tenant: event.tenant, type: event.type, user_id: event.user_id }));
});

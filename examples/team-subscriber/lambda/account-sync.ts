// Each record arrives as a validated CanonicalEvent; throwing fails only that record (retried, then the DLQ).
// A type or source newer than your installed package arrives as it came (event.type: EventType | UnknownName):
// act on the types you know, return for the rest.
import type { CanonicalEvent } from 'auth0-events';
import { auth0EventsHandler } from 'auth0-events/handler';

export const handler = auth0EventsHandler(async (event: CanonicalEvent, { logger }) => {
  // Your code: e.g. close the user's account in your own store, idempotently by event.id.
  logger.info(`account-sync: ${event.type}`); // every line carries event_id, tenant, type and message_id
});

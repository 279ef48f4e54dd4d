/**
 * The subscriber registry: every consumer of the event topic, as plain data. The stack turns each
 * entry into a Subscriber (own SQS queue + DLQ, redrive, encryption, partial batch failures, bounded
 * concurrency, alarms); the local runtime builds the same topology from it.
 *
 * Add a subscriber: `npm run new-subscriber -- <name>` (or add an entry by hand and a handler file).
 * Types and defaults: lib/subscriber-definition.ts. Walkthrough: docs/fanout.md.
 */
import { SESSION_EVENT_TYPES, USER_EVENT_TYPES } from '../lambda/shared/event';
import type { SubscriberDefinition } from './subscriber-definition';

export const SUBSCRIBERS: readonly SubscriberDefinition[] = [
  {
    name: 'users',
    description: 'Keeps one item per tenant and user in the users table (built-in)',
    filter: { types: [...USER_EVENT_TYPES] },
    handler: { entry: 'lambda/users-writer/handler.ts', tables: { users: ['UpdateItem'] } },
  },
  {
    name: 'session-events',
    description: 'Stores session events in the events table, whose stream drives the WebSocket push (built-in)',
    filter: { types: [...SESSION_EVENT_TYPES] },
    handler: { entry: 'lambda/session-events-writer/handler.ts', tables: { events: ['PutItem', 'UpdateItem'] } },
  },
  // new-subscriber: entries are added above this line
];

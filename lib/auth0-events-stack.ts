/**
 * The auth0-events stack: Auth0 -> REST API -> ingest Lambda -> KMS-encrypted SNS topic;
 * events table stream -> push Lambda -> WebSocket API (real-time session events).
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { Auth0EventsConfig } from './config';
import { EventTopic } from './event-topic';
import { EventsTablePlaceholder } from './events-table-placeholder';
import { IngestApi } from './ingest-api';
import { SessionEventsSocket } from './session-events-socket';

export interface Auth0EventsStackProps extends StackProps {
  readonly config: Auth0EventsConfig;
}

export class Auth0EventsStack extends Stack {
  readonly events: EventTopic;
  readonly ingest: IngestApi;
  readonly realtime: SessionEventsSocket;

  constructor(scope: Construct, id: string, props: Auth0EventsStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.events = new EventTopic(this, 'Events');
    this.ingest = new IngestApi(this, 'Ingest', {
      events: this.events,
      tenants: config.tenants,
      throttle: config.throttle,
      logRetentionDays: config.logRetentionDays,
    });

    // ---- MERGE (branch realtime): the events table comes from the events store branch. Replace the
    // placeholder with that table (same key design, stream NEW_IMAGE) and delete
    // lib/events-table-placeholder.ts; pass the stack's alarm topic as alarmTopic once it exists.
    const eventsTable = new EventsTablePlaceholder(this, 'EventsPlaceholder', { deletionProtection: config.deletionProtection }).table;
    // ---- END MERGE
    this.realtime = new SessionEventsSocket(this, 'Realtime', {
      eventsTable,
      tenants: config.tenants,
      logRetentionDays: config.logRetentionDays,
      restApi: this.ingest.api,
      deletionProtection: config.deletionProtection,
    });
  }
}

/**
 * The auth0-events stack: Auth0 -> REST API -> ingest Lambda -> KMS-encrypted SNS topic.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { Auth0EventsConfig } from './config';
import { EventTopic } from './event-topic';
import { IngestApi } from './ingest-api';

export interface Auth0EventsStackProps extends StackProps {
  readonly config: Auth0EventsConfig;
}

export class Auth0EventsStack extends Stack {
  readonly events: EventTopic;
  readonly ingest: IngestApi;

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
  }
}

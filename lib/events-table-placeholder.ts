/**
 * MERGE NOTE (branch `realtime`): a stand-in for the events table that the events store branch builds
 * (lambda/shared/stores.ts EVENTS_TABLE: PK `id`, GSIs by-tenant and by-user on `cursor`, TTL
 * `expires_at`, stream NEW_IMAGE). It exists only so that this branch synthesizes and tests its
 * SessionEventsSocket; when merging, delete this file and pass the real table (`eventsTable`) instead.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { EVENTS_TABLE } from '../lambda/shared/stores';
import { customerManagedKey } from './secure-defaults';

export class EventsTablePlaceholder extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: { deletionProtection: boolean }) {
    super(scope, id);
    const key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the events table');
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: EVENTS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: EVENTS_TABLE.ttlAttribute,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of [EVENTS_TABLE.byTenantIndex, EVENTS_TABLE.byUserIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}

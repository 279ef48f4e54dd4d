/**
 * The DynamoDB stores, with the key design of lambda/shared/stores.ts (one definition shared with the
 * writers, the push Lambda and the REST catch-up):
 *   users:  PK tenant, SK user_id.
 *   events: PK pk = `${tenant}#${id}` (ids are unique per tenant only); GSI by-tenant (tenant, cursor) and by-user (tenant_user, cursor), both projecting
 *           every attribute; TTL expires_at (30 days); stream NEW_IMAGE for the WebSocket push.
 * On-demand, point-in-time recovery, one customer-managed key (rotation on), deletion protection
 * from config (and then retained when the stack is deleted).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { EVENTS_TABLE, USERS_TABLE } from '../lambda/shared/stores';
import { customerManagedKey } from './secure-defaults';

export interface StoresProps {
  /** Deletion protection on both tables, and RETAIN on stack delete. Default true. */
  readonly deletionProtection?: boolean;
}

const S = dynamodb.AttributeType.STRING;

export class Stores extends Construct {
  readonly key: kms.Key;
  readonly usersTable: dynamodb.Table;
  readonly eventsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StoresProps = {}) {
    super(scope, id);
    const deletionProtection = props.deletionProtection ?? true;
    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the users and events tables and the events stream');
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    };
    this.usersTable = new dynamodb.Table(this, 'Users', {
      ...common,
      partitionKey: { name: USERS_TABLE.partitionKey, type: S },
      sortKey: { name: USERS_TABLE.sortKey, type: S },
    });
    this.eventsTable = new dynamodb.Table(this, 'Events', {
      ...common,
      partitionKey: { name: EVENTS_TABLE.partitionKey, type: S },
      timeToLiveAttribute: EVENTS_TABLE.ttlAttribute,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
    });
    for (const index of [EVENTS_TABLE.byTenantIndex, EVENTS_TABLE.byUserIndex]) {
      this.eventsTable.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: S },
        sortKey: { name: index.sortKey, type: S },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}

/**
 * DynamoDB tables for the local runtime, read from the synthesized CloudFormation template of the
 * real stack: key schema, attribute definitions, global secondary indexes, stream and TTL are the
 * deployed ones by construction, so the local tables cannot drift from the stack.
 */
import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface LocalTableSpec {
  /** The construct path of the table in the stack, e.g. `Auth0Events/Stores/UsersTable/Resource`. */
  path: string;
  create: CreateTableCommandInput;
  ttlAttribute?: string;
}

type CfnResource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, unknown> };

/** The tables of a synthesized template (AWS::DynamoDB::Table and ::GlobalTable). */
export function tablesFromTemplate(template: { Resources: Record<string, CfnResource> }, namePrefix = 'auth0-events-'): LocalTableSpec[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable')
    .map(([logicalId, r]) => {
      const p = r.Properties;
      const path = String(r.Metadata?.['aws:cdk:path'] ?? logicalId);
      const stream = p.StreamSpecification?.StreamViewType;
      const create: CreateTableCommandInput = {
        TableName: `${namePrefix}${logicalId.replace(/[0-9A-F]{8}$/, '')}`,
        KeySchema: p.KeySchema,
        AttributeDefinitions: p.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(p.GlobalSecondaryIndexes?.length
          ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((g: any) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection })) }
          : {}),
        ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream } } : {}),
      };
      return { path, create, ...(p.TimeToLiveSpecification?.Enabled ? { ttlAttribute: p.TimeToLiveSpecification.AttributeName } : {}) };
    });
}

/** Creates the tables that do not exist yet (a persisted DynamoDB Local keeps them across restarts). */
export async function createTables(ddb: DynamoDBClient, specs: LocalTableSpec[]): Promise<void> {
  for (const spec of specs) {
    try {
      await ddb.send(new DescribeTableCommand({ TableName: spec.create.TableName }));
      continue;
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
    await ddb.send(new CreateTableCommand(spec.create));
    if (spec.ttlAttribute) {
      await ddb.send(
        new UpdateTimeToLiveCommand({ TableName: spec.create.TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: spec.ttlAttribute } }),
      );
    }
  }
}

/**
 * The poller's checkpoints and run lease, one DynamoDB item per tenant (key `tenant`):
 *   checkpoint       the last log_id whose page is entirely on the topic
 *   checkpoint_date  that log's date (how far behind a stopped run is)
 *   lease_owner, lease_until   the run that holds the tenant (epoch ms)
 * A run takes the lease with a conditional write (free, or expired), moves the checkpoint only while
 * it holds the lease (a run that outlived its lease cannot move it back), and gives the lease back at
 * the end. So two runs of one tenant never poll at once, whatever the scheduler or a manual invoke does.
 * DynamoDB rather than an SSM parameter: conditional writes (the lease, compare-and-set), one item
 * per tenant with no throughput quota to share with deploys (SSM PutParameter allows a few a second
 * per account), and the table's customer-managed key.
 */
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

import { CHECKPOINT_TABLE } from '../../shared/stores';

const keyOf = (tenant: string) => ({ [CHECKPOINT_TABLE.partitionKey]: { S: tenant } });

export interface Checkpoint {
  checkpoint?: string;
  checkpoint_date?: string;
}

export interface CheckpointStore {
  /** Takes the tenant's lease until `until` (epoch ms): the checkpoint, or undefined when another run holds it. */
  acquire(tenant: string, owner: string, until: number, now: number): Promise<Checkpoint | undefined>;
  /** Moves the checkpoint; fails when `owner` no longer holds the lease. */
  save(tenant: string, owner: string, logId: string, date: string | undefined): Promise<void>;
  release(tenant: string, owner: string): Promise<void>;
}

export class LeaseLost extends Error {
  constructor(tenant: string) {
    super(`the poller's lease on tenant ${tenant} was taken by another run: this run stops without moving the checkpoint`);
    this.name = 'LeaseLost';
  }
}

export class DynamoCheckpointStore implements CheckpointStore {
  constructor(
    private readonly ddb: Pick<DynamoDBClient, 'send'>,
    private readonly table: string,
  ) {}

  async acquire(tenant: string, owner: string, until: number, now: number): Promise<Checkpoint | undefined> {
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(tenant),
          UpdateExpression: 'SET lease_owner = :owner, lease_until = :until',
          ConditionExpression: 'attribute_not_exists(lease_until) OR lease_until < :now',
          ExpressionAttributeValues: { ':owner': { S: owner }, ':until': { N: String(until) }, ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = out.Attributes ?? {};
      return {
        ...(item.checkpoint?.S ? { checkpoint: item.checkpoint.S } : {}),
        ...(item.checkpoint_date?.S ? { checkpoint_date: item.checkpoint_date.S } : {}),
      };
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw e;
    }
  }

  async save(tenant: string, owner: string, logId: string, date: string | undefined): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(tenant),
          UpdateExpression: date ? 'SET checkpoint = :id, checkpoint_date = :date, updated_at = :at' : 'SET checkpoint = :id, updated_at = :at',
          ConditionExpression: 'lease_owner = :owner',
          ExpressionAttributeValues: {
            ':id': { S: logId },
            ':at': { S: new Date().toISOString() },
            ':owner': { S: owner },
            ...(date ? { ':date': { S: date } } : {}),
          },
        }),
      );
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') throw new LeaseLost(tenant);
      throw e;
    }
  }

  async release(tenant: string, owner: string): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(tenant),
          UpdateExpression: 'REMOVE lease_owner, lease_until',
          ConditionExpression: 'lease_owner = :owner',
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  /** The item as stored (tests, operators). */
  async read(tenant: string): Promise<Checkpoint & { lease_owner?: string }> {
    const out = await this.ddb.send(new GetItemCommand({ TableName: this.table, Key: keyOf(tenant), ConsistentRead: true }));
    const i = out.Item ?? {};
    return {
      ...(i.checkpoint?.S ? { checkpoint: i.checkpoint.S } : {}),
      ...(i.checkpoint_date?.S ? { checkpoint_date: i.checkpoint_date.S } : {}),
      ...(i.lease_owner?.S ? { lease_owner: i.lease_owner.S } : {}),
    };
  }
}

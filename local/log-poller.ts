/**
 * `npm start` with AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: polls that Auth0 tenant's
 * logs every few seconds into the local tenant `dev`, with the deployed poller's handler code
 * (lambda/ingest/poller/handler.ts runPoller) on the local SNS and a DynamoDB Local checkpoint table; the
 * credentials come from the environment instead of Secrets Manager. AUTH0_DOMAIN is a host name
 * (acme.eu.auth0.com) or an http://127.0.0.1:<port> stand-in. The application needs read:logs.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import { runPoller } from '../lambda/ingest/poller/handler';
import { DynamoCheckpointStore } from '../lambda/ingest/poller/checkpoint';

export const LOCAL_POLL_INTERVAL_MS = 5_000;

/** The dev tenant's managementApi from the environment, or undefined when AUTH0_DOMAIN is not set. */
export function localManagementApi(env: NodeJS.ProcessEnv = process.env): { domain: string; secret: string } | undefined {
  if (!env.AUTH0_DOMAIN) return undefined;
  if (!env.AUTH0_CLIENT_ID || !env.AUTH0_CLIENT_SECRET)
    throw new Error('AUTH0_DOMAIN is set: set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET too (a machine-to-machine application with read:logs)');
  return { domain: env.AUTH0_DOMAIN.replace(/^https:\/\//, '').replace(/\/+$/, ''), secret: 'local-environment' };
}

export class LocalLogPoller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  readonly store: DynamoCheckpointStore;

  constructor(
    private readonly o: {
      sns: SNSClient;
      ddb: DynamoDBClient;
      table: string;
      topicArn: string;
      tenant: string;
      log: (line: string) => void;
      intervalMs?: number;
      onPublished?: (n: number) => void;
    },
  ) {
    this.store = new DynamoCheckpointStore(o.ddb, o.table);
  }

  start(): void {
    const tick = () => {
      this.running = runPoller({ tenant: this.o.tenant }, 30_000, {
        sns: this.o.sns,
        topicArn: this.o.topicArn,
        store: this.store,
        now: Date.now,
        credentials: async () => ({ client_id: process.env.AUTH0_CLIENT_ID!, client_secret: process.env.AUTH0_CLIENT_SECRET! }),
      })
        .then(
          (s) => {
            if (s?.published) {
              this.o.log(`poller: ${s.published} Auth0 log(s) published as tenant ${this.o.tenant}`);
              this.o.onPublished?.(s.published);
            }
          },
          (e: Error) => this.o.log(`poller: ${e.message}`),
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs ?? LOCAL_POLL_INTERVAL_MS);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}

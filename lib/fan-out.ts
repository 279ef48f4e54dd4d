/**
 * Fan-out: the registry's plain subscriber definitions (lib/subscribers.ts) turned into
 * Auth0EventsSubscriber constructs (the same construct a team's own app uses) sharing one queue key,
 * with the repository's handlers, the table grants and the webhook forwarder wired in.
 */
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EventTopic } from './event-topic';
import type { Stores } from './stores';
import { Auth0EventsSubscriber, SubscriberKey, type Auth0EventsSubscriberHandlerProps } from './subscriber';
import { SubscriberDefinitionError, tableActions, validateRegistry, type SubscriberDefinition, type TableAccess } from './subscriber-definition';
import { SUBSCRIBERS } from './subscribers';
import { grantTable, Handler, isBuiltInHandler, REPO_ROOT } from './secure-defaults';

export const WEBHOOK_FORWARDER_ENTRY = 'lambda/webhook-forwarder/handler.ts';

export interface FanOutProps {
  readonly topic: EventTopic;
  readonly stores: Stores;
  /** Subscriber definitions. Default: the registry, lib/subscribers.ts. */
  readonly definitions?: readonly SubscriberDefinition[];
  /** The deployment's tenant names: a filter naming another tenant fails synth. Default: not checked. */
  readonly tenants?: readonly string[];
  /** Default 90 days. */
  readonly logRetentionDays?: number;
  /** Notified by every subscriber alarm. Default none. */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** A registry subscriber: its `handler.entry` is a handler of this repository (lib/secure-defaults.ts). */
export class RegistrySubscriber extends Auth0EventsSubscriber {
  declare readonly handler?: Handler;

  protected createConsumer(id: string, name: string, h: Auth0EventsSubscriberHandlerProps, timeout: Duration, logRetentionDays: number): Handler {
    return new Handler(this, id, {
      entry: h.entry as string,
      description: h.description ?? `auth0-events subscriber ${name}`,
      logRetentionDays,
      memorySize: h.memorySize,
      timeout,
      environment: { POWERTOOLS_SERVICE_NAME: `auth0-events-${name}`, ...h.environment },
    });
  }
}

/** `session-events` -> `SessionEvents`: the construct id of a subscriber. */
export const constructIdOf = (name: string): string =>
  name
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

export class FanOut extends Construct {
  /** The shared key of every subscriber queue and DLQ. */
  readonly queueKey: SubscriberKey;
  readonly subscribers: ReadonlyMap<string, RegistrySubscriber>;

  constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    const definitions = props.definitions ?? SUBSCRIBERS;
    validateRegistry(definitions, props.tenants);
    this.queueKey = new SubscriberKey(this, 'QueueKey', { topic: props.topic.topic });
    const subscribers = new Map<string, RegistrySubscriber>();
    for (const d of definitions) subscribers.set(d.name, this.subscriber(d, props));
    this.subscribers = subscribers;
    // Stack outputs <Name>QueueUrl, <Name>DlqUrl, <Name>DeliveryDlqUrl: for `npm run redrive -- --queue-url`
    // and for operators (docs/operations.md).
    for (const [name, s] of subscribers) {
      const id = constructIdOf(name);
      const outputs: [string, string | undefined, string][] = [
        ['QueueUrl', s.queue?.queueUrl, 'queue'],
        ['DlqUrl', s.deadLetterQueue?.queueUrl, 'DLQ (events its consumer failed)'],
        ['DeliveryDlqUrl', s.deliveryDeadLetterQueue.queueUrl, 'delivery DLQ (events SNS could not deliver to its queue)'],
      ];
      for (const [suffix, value, what] of outputs) {
        if (value) new CfnOutput(this, `${id}${suffix}`, { value, description: `Subscriber ${name}: ${what}` }).overrideLogicalId(`${id}${suffix}`);
      }
    }
  }

  /** A subscriber by name; throws when there is none. */
  get(name: string): RegistrySubscriber {
    const s = this.subscribers.get(name);
    if (!s) throw new Error(`No subscriber named ${JSON.stringify(name)}; known: ${[...this.subscribers.keys()].join(', ')}`);
    return s;
  }

  private subscriber(d: SubscriberDefinition, props: FanOutProps): RegistrySubscriber {
    const common = {
      name: d.name,
      topic: props.topic,
      queueKey: this.queueKey.key,
      filter: d.filter,
      maxReceiveCount: d.maxReceiveCount,
      logRetentionDays: props.logRetentionDays,
      alarmAction: props.alarmAction,
      alarms: {
        maxAgeOfOldestMessage: d.alarms?.maxAgeOfOldestMessageSeconds !== undefined ? Duration.seconds(d.alarms.maxAgeOfOldestMessageSeconds) : undefined,
        errors: d.alarms?.errors,
        throttles: d.alarms?.throttles,
      },
    };
    const id = constructIdOf(d.name);
    if (d.queue) return new RegistrySubscriber(this, id, { ...common, queueArn: d.queue.arn });

    let handler: Auth0EventsSubscriberHandlerProps;
    if (d.webhook) {
      const w = d.webhook;
      const concurrency = w.concurrency ?? 5;
      const batchSize = w.batchSize ?? 10;
      const requestTimeout = w.requestTimeoutSeconds ?? 10;
      handler = {
        entry: WEBHOOK_FORWARDER_ENTRY,
        description: d.description ?? `auth0-events webhook ${d.name}: POSTs events to ${new URL(w.url).host}`,
        // Every wave of `concurrency` requests may take the full request timeout, plus the secret lookup.
        timeout: Duration.seconds(Math.ceil(batchSize / concurrency) * requestTimeout + 5),
        batchSize,
        maxConcurrency: w.maxConcurrency ?? 2,
        environment: {
          WEBHOOK_URL: w.url,
          WEBHOOK_SECRET_ID: w.secretName,
          WEBHOOK_CONCURRENCY: String(concurrency),
          WEBHOOK_TIMEOUT_MS: String(requestTimeout * 1000),
        },
      };
    } else {
      const h = d.handler!;
      // A definition's handler.entry is a handler of this package (resolved against its root, not the
      // directory cdk runs in): a consuming app's own file is never found there.
      if (!isBuiltInHandler(h.entry)) {
        throw new SubscriberDefinitionError(
          d.name,
          'handler.entry',
          `${JSON.stringify(h.entry)} is not a handler of the auth0-events package (${REPO_ROOT}): ` +
            'the handler.entry of a subscriber definition (Auth0EventsProps.subscribers) works only inside the auth0-events repository. ' +
            'For a handler of your own app, add an Auth0EventsSubscriber next to the pipeline: ' +
            `new Auth0EventsSubscriber(stack, 'X', { name: '${d.name}', topic: pipeline.topic, alarmAction: pipeline.alarmAction, handler: { entry: '${h.entry}' }, ... })`,
        );
      }
      const environment: Record<string, string> = { ...h.environment };
      if (h.tables?.users) environment.USERS_TABLE = props.stores.usersTable.tableName;
      if (h.tables?.events) environment.EVENTS_TABLE = props.stores.eventsTable.tableName;
      handler = {
        entry: h.entry,
        description: d.description,
        timeout: h.timeoutSeconds !== undefined ? Duration.seconds(h.timeoutSeconds) : undefined,
        memorySize: h.memorySize,
        batchSize: h.batchSize,
        maxBatchingWindow: h.maxBatchingWindowSeconds ? Duration.seconds(h.maxBatchingWindowSeconds) : undefined,
        maxConcurrency: h.maxConcurrency,
        environment,
      };
    }
    const subscriber = new RegistrySubscriber(this, id, { ...common, handler });
    const fn = subscriber.handler!.function;

    const role = subscriber.handler!.role;
    const grant = (table: 'users' | 'events', access: TableAccess | undefined) => {
      if (!access) return;
      const t = table === 'users' ? props.stores.usersTable : props.stores.eventsTable;
      const actions = tableActions(access);
      const queries = actions.includes('Query');
      // Exactly the listed item actions; Query on the table and (wildcard) its indexes.
      grantTable(
        role,
        t,
        actions.map((a) => `dynamodb:${a}`),
        queries ? '*' : [],
      );
      if (queries) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(t.node.defaultChild as never)}.Arn>/index/*]`,
          reason: `Reading the ${table} table includes querying its indexes; the wildcard covers only this table's indexes.`,
        });
      }
    };
    grant('users', d.handler?.tables?.users);
    grant('events', d.handler?.tables?.events);

    if (d.webhook) {
      const w = d.webhook;
      const secret = w.secretName.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(this, `${id}Secret`, w.secretName)
        : secretsmanager.Secret.fromSecretNameV2(this, `${id}Secret`, w.secretName);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [w.secretName.startsWith('arn:') ? secret.secretArn : `${secret.secretArn}-??????`],
        }),
      );
      if (!w.secretName.startsWith('arn:')) {
        Validations.of(subscriber.handler!.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${w.secretName}-??????]`,
          reason: 'Secrets Manager appends 6 random characters to a secret ARN; "-??????" matches exactly that suffix of this one secret name.',
        });
      }
      if (w.secretKeyArn) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [w.secretKeyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
          }),
        );
      }
    }
    return subscriber;
  }
}

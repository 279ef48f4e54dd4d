/**
 * The event topic: every canonical event is published here once and fanned out by subscription
 * filter policies. Encrypted with its own customer-managed key (rotation on), TLS-only.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { IAuth0EventsTopic } from './auth0-events-topic';
import { customerManagedKey } from './secure-defaults';

export interface EventTopicProps {
  /**
   * AWS account ids that may subscribe their own SQS queues to the topic (Auth0EventsSubscriber in
   * their own apps), with any filter: each can receive every event of every tenant. Registry
   * subscribers in other accounts do not need this (the stack subscribes them with their filter).
   * @default - none
   */
  readonly subscriberAccounts?: readonly string[];
}

export class EventTopic extends Construct implements IAuth0EventsTopic {
  readonly key: kms.Key;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: EventTopicProps = {}) {
    super(scope, id);
    this.key = customerManagedKey(this, 'Key', 'auth0-events: encrypts the event topic');
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Auth0 events',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const account of props.subscriberAccounts ?? []) this.allowSubscriber(account);
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /** Lets a principal publish: sns:Publish on this topic, and encrypt with its key (no wildcard actions). */
  grantPublish(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    this.key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  /**
   * Lets another AWS account subscribe its own SQS queues, with any filter: it can then receive every
   * event of every tenant. Registry subscribers in other accounts do not need this (the stack subscribes
   * them). The queue owner subscribing needs no confirmation
   * (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html); `sns:Protocol`
   * and `sns:Endpoint` are SNS's condition keys for Subscribe
   * (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html):
   * only SQS, and only queues of that account (no HTTPS endpoint, e-mail or another account's queue).
   */
  allowSubscriber(account: string): void {
    if (!/^\d{12}$/.test(account)) throw new Error(`subscriberAccounts: ${JSON.stringify(account)} is not a 12-digit AWS account id`);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `AllowSubscribe${account}`,
        actions: ['sns:Subscribe'],
        principals: [new iam.AccountPrincipal(account)],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'sns:Protocol': 'sqs' },
          StringLike: { 'sns:Endpoint': `arn:${Stack.of(this).partition}:sqs:*:${account}:*` },
        },
      }),
    );
  }
}

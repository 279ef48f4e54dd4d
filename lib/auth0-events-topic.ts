/**
 * How a subscriber finds the event topic without hard-coding ARNs.
 *
 * The pipeline (Auth0Events) publishes what a subscriber needs as SSM parameters under one prefix,
 * DEFAULT_PARAMETER_PREFIX (`/auth0-events`) unless configured with `parameterPrefix`; the prefix is
 * also the stack output `TopicParameterPrefix`. The default does not depend on the stack's name, so
 * a pipeline in any stack or Stage and `fromParameters()` agree. A second pipeline in the same account
 * and region must set its own `parameterPrefix` (SSM parameter names are unique per account and region,
 * so its deploy would fail on the first pipeline's parameters):
 *   <prefix>/topic-arn          the event topic's ARN
 *   <prefix>/topic-key-arn      the ARN of the topic's customer-managed KMS key
 *   <prefix>/event-types        the canonical event types (StringList)
 *   <prefix>/filter-attributes  the message attributes a filter policy can match (StringList)
 *
 * A team's app reads them with `Auth0EventsTopic.fromParameters` (same account and region: CloudFormation
 * resolves them at deploy time, so synth stays offline), or is given the ARN with
 * `Auth0EventsTopic.fromTopicAttributes` (another account: SSM parameters are per account and region).
 */
import { CfnOutput, Token } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { EVENT_TYPES, MESSAGE_ATTRIBUTES } from '../lambda/shared/event';

/** The event topic, as a subscriber needs it. */
export interface IAuth0EventsTopic {
  /** The SNS topic every canonical event is published to once. */
  readonly topic: sns.ITopic;
  /**
   * ARN of the topic's customer-managed KMS key. A subscriber does not need it: SNS decrypts a message
   * before it delivers it, and encrypts it again with the key of the subscriber's queue
   * (https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html); only publishers use it.
   * @default - unknown
   */
  readonly keyArn?: string;
}

/** The names of the parameters under a prefix. */
export function parameterNames(prefix: string) {
  return {
    topicArn: `${prefix}/topic-arn`,
    keyArn: `${prefix}/topic-key-arn`,
    eventTypes: `${prefix}/event-types`,
    filterAttributes: `${prefix}/filter-attributes`,
  } as const;
}

/**
 * The prefix every pipeline publishes under and `fromParameters()` reads, unless `parameterPrefix` /
 * `prefix` says otherwise: one value for both sides, whatever the pipeline's stack is called.
 */
export const DEFAULT_PARAMETER_PREFIX = '/auth0-events';

export interface Auth0EventsTopicParametersProps {
  /**
   * Prefix of the parameters, as the pipeline was configured (`parameterPrefix`).
   * @default '/auth0-events' (DEFAULT_PARAMETER_PREFIX, what a pipeline publishes under by default)
   */
  readonly prefix?: string;
}

export interface Auth0EventsTopicAttributes {
  /** ARN of the event topic (the pipeline's `<prefix>/topic-arn` parameter, or its stack's output). */
  readonly topicArn: string;
  /**
   * ARN of the topic's KMS key; informational (subscribers do not use it).
   * @default - unknown
   */
  readonly keyArn?: string;
}

class ImportedEventsTopic implements IAuth0EventsTopic {
  readonly topic: sns.ITopic;
  private readonly lookUpKeyArn: () => string | undefined;
  private key?: string;

  constructor(scope: Construct, id: string, topicArn: string, keyArn: () => string | undefined) {
    this.topic = sns.Topic.fromTopicArn(scope, id, topicArn);
    this.lookUpKeyArn = keyArn;
  }

  /** Read on first use only: an unused SSM parameter would still be a template parameter to resolve. */
  get keyArn(): string | undefined {
    this.key ??= this.lookUpKeyArn();
    return this.key;
  }
}

/** References to an existing pipeline's event topic. */
export class Auth0EventsTopic {
  /**
   * The topic of a pipeline in the same account and region, from the SSM parameters it publishes.
   * The values are CloudFormation parameters of type `AWS::SSM::Parameter::Value<String>`, resolved at
   * deploy time (`ssm.StringParameter.valueForStringParameter`): synth needs no credentials, and a
   * redeploy of the team's stack picks up a changed value. (`valueFromLookup` would read them at synth,
   * which needs credentials and an explicit account and region, and caches the value in cdk.context.json.)
   */
  static fromParameters(scope: Construct, id: string, props: Auth0EventsTopicParametersProps = {}): IAuth0EventsTopic {
    const names = parameterNames(props.prefix ?? DEFAULT_PARAMETER_PREFIX);
    const topicArn = ssm.StringParameter.valueForStringParameter(scope, names.topicArn);
    return new ImportedEventsTopic(scope, id, topicArn, () => ssm.StringParameter.valueForStringParameter(scope, names.keyArn));
  }

  /**
   * The topic given by its ARN: for a subscriber in another account (which cannot read the pipeline's
   * SSM parameters unless they are shared), or any app that prefers explicit values. The pipeline must
   * list that account in `subscriberAccounts`.
   */
  static fromTopicAttributes(scope: Construct, id: string, attrs: Auth0EventsTopicAttributes): IAuth0EventsTopic {
    if (!Token.isUnresolved(attrs.topicArn) && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(attrs.topicArn)) {
      throw new Error(
        `Auth0EventsTopic.fromTopicAttributes: topicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(attrs.topicArn)}`,
      );
    }
    return new ImportedEventsTopic(scope, id, attrs.topicArn, () => attrs.keyArn);
  }

  private constructor() {}
}

export interface TopicParametersProps {
  readonly topic: sns.ITopic;
  readonly keyArn: string;
  /** Parameter prefix. Default DEFAULT_PARAMETER_PREFIX (`/auth0-events`). */
  readonly prefix?: string;
}

/** The SSM parameters a pipeline publishes for its subscribers (names: parameterNames). */
export class TopicParameters extends Construct {
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: TopicParametersProps) {
    super(scope, id);
    this.prefix = props.prefix ?? DEFAULT_PARAMETER_PREFIX;
    const names = parameterNames(this.prefix);
    // For the teams: where to read the parameters from (`Auth0EventsTopic.fromParameters(.., { prefix })`).
    new CfnOutput(this, 'Prefix', {
      value: this.prefix,
      description: 'Prefix of the SSM parameters of the event topic (Auth0EventsTopic.fromParameters prefix)',
    }).overrideLogicalId('TopicParameterPrefix');
    new ssm.StringParameter(this, 'TopicArn', {
      parameterName: names.topicArn,
      stringValue: props.topic.topicArn,
      description: 'auth0-events: the event topic subscribers subscribe to (Auth0EventsTopic.fromParameters)',
    });
    new ssm.StringParameter(this, 'TopicKeyArn', {
      parameterName: names.keyArn,
      stringValue: props.keyArn,
      description: 'auth0-events: the KMS key of the event topic (publishers use it; subscribers do not)',
    });
    new ssm.StringListParameter(this, 'EventTypes', {
      parameterName: names.eventTypes,
      stringListValue: [...EVENT_TYPES],
      description: 'auth0-events: the canonical event types (the "type" message attribute)',
    });
    new ssm.StringListParameter(this, 'FilterAttributes', {
      parameterName: names.filterAttributes,
      stringListValue: [...MESSAGE_ATTRIBUTES],
      description: 'auth0-events: the message attributes a subscription filter policy can match (level is a Number)',
    });
  }
}

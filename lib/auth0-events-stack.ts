/**
 * The auth0-events stack: Auth0 -> REST API -> ingest Lambda -> KMS-encrypted SNS topic
 * -> subscriber queues (lib/subscribers.ts) -> users and events tables, webhooks, teams' queues;
 * events table stream -> push Lambda -> WebSocket API (real-time session events); alarms and a
 * dashboard over all of it (lib/monitoring.ts).
 */
import { Annotations, Aspects, CfnParameter, CfnRule, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CONTEXT_KEY, examplePlaceholders, type Auth0EventsConfig } from './config';
import { EventTopic } from './event-topic';
import { FanOut } from './fan-out';
import { IngestApi } from './ingest-api';
import { Monitoring } from './monitoring';
import { SessionEventsSocket } from './session-events-socket';
import { Stores } from './stores';
import type { SubscriberDefinition } from './subscriber-definition';

export interface Auth0EventsStackProps extends StackProps {
  readonly config: Auth0EventsConfig;
  /** Subscriber definitions. Default: the registry, lib/subscribers.ts. */
  readonly subscribers?: readonly SubscriberDefinition[];
}

export class Auth0EventsStack extends Stack {
  readonly events: EventTopic;
  readonly ingest: IngestApi;
  readonly stores: Stores;
  /** Every subscriber of the registry (lib/subscribers.ts), by name: `stack.subscribers.get('users')`. */
  readonly subscribers: FanOut;
  readonly realtime: SessionEventsSocket;
  /** Alarm topic, alarm actions on every alarm, the operations alarms and the dashboard (README.md, "Operations"). */
  readonly monitoring: Monitoring;

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
    this.stores = new Stores(this, 'Stores', { deletionProtection: config.deletionProtection });
    this.subscribers = new FanOut(this, 'Subscribers', {
      topic: this.events,
      stores: this.stores,
      definitions: props.subscribers,
      tenants: config.tenants.map((t) => t.name),
      logRetentionDays: config.logRetentionDays,
    });
    this.realtime = new SessionEventsSocket(this, 'Realtime', {
      eventsTable: this.stores.eventsTable,
      tenants: config.tenants,
      logRetentionDays: config.logRetentionDays,
      restApi: this.ingest.api,
      deletionProtection: config.deletionProtection,
    });
    // Last: it watches what the constructs above made, and gives every alarm of the stack its actions.
    this.monitoring = new Monitoring(this, 'Monitoring', {
      events: this.events,
      ingest: this.ingest,
      subscribers: this.subscribers,
      realtime: this.realtime,
      tenants: config.tenants.map((t) => t.name),
      alarms: config.alarms,
      alarmEmail: config.alarmEmail,
      logRetentionDays: config.logRetentionDays,
    });
    refuseExampleConfiguration(this, config);
    if (config.lambdaArchitecture === 'x86_64') {
      // Every function of the stack (lib/secure-defaults.ts makes them arm64) on x86_64, for a region without arm64.
      Aspects.of(this).add({ visit: (node) => { if (node instanceof lambda.CfnFunction) node.architectures = ['x86_64']; } });
    }
  }
}

/** The CloudFormation parameter that deploys the shipped example configuration anyway. */
export const EXAMPLE_PARAMETER = 'ExampleConfiguration';

/**
 * The shipped example configuration (cdk.json) must not reach an account by accident: it would page
 * oncall@acme.example and serve tenants that are not yours. Synth, tests and `npm start` keep working;
 * the template gets a Rule that CloudFormation checks before it creates or updates anything, so
 * `cdk deploy` stops at change-set creation with the message below and nothing is created (the way
 * CDK's own CheckBootstrapVersion rule stops a deploy into an account without the bootstrap stack).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
 * An explicit choice passes: edit cdk.json, or `cdk deploy --parameters ExampleConfiguration=deploy`.
 */
function refuseExampleConfiguration(stack: Stack, config: Auth0EventsConfig): void {
  const placeholders = examplePlaceholders(config);
  if (placeholders.length === 0) return;
  const choice = new CfnParameter(stack, EXAMPLE_PARAMETER, {
    type: 'String',
    default: 'refuse',
    allowedValues: ['refuse', 'deploy'],
    description: 'This template was synthesized from the example configuration of cdk.json: "deploy" deploys it anyway.',
  });
  const message = `auth0-events: this is the example configuration, not yours: ${placeholders.join(', ')} use the reserved .example domain. `
    + `Edit cdk.json, context "${CONTEXT_KEY}": tenants (your Auth0 tenant names, and the API identifier of your events API as audience) and alarmEmail (your on-call address), then run npx cdk deploy again. `
    + `To deploy the example anyway: npx cdk deploy --parameters ${EXAMPLE_PARAMETER}=deploy`;
  new CfnRule(stack, 'RefuseExampleConfiguration', {
    assertions: [{ assert: Fn.conditionEquals(choice.valueAsString, 'deploy'), assertDescription: message }],
  });
  Annotations.of(stack).addInfo(`${message} (cdk deploy refuses it; synth and tests are unaffected)`);
}

/**
 * The auth0-events stack of this app (bin/auth0-events.ts): a thin wrapper around the Auth0Events
 * construct (lib/auth0-events.ts), plus the guard against deploying the shipped example configuration.
 *
 * The pipeline's construct id is `Default`, which CDK leaves out of logical ids
 * (https://docs.aws.amazon.com/cdk/v2/guide/identifiers.html#identifiers-logical-ids): every resource keeps
 * the logical id it had when the stack held the constructs directly, so updating a deployed stack
 * replaces nothing.
 */
import { Annotations, CfnCondition, CfnParameter, CfnRule, Fn, Stack, type CfnResource, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { Auth0Events } from './auth0-events';
import { CONTEXT_KEY, EXAMPLE_SOURCE_ID, examplePlaceholders, type Auth0EventsConfig } from './config';
import type { EventTopic } from './event-topic';
import type { EventBridgeFrontDoor } from './eventbridge-front-door';
import type { FanOut } from './fan-out';
import type { IngestApi } from './ingest-api';
import type { Monitoring } from './monitoring';
import type { SessionEventsSocket } from './session-events-socket';
import type { Stores } from './stores';
import type { SubscriberDefinition } from './subscriber-definition';

export interface Auth0EventsStackProps extends StackProps {
  /** The validated configuration (parseConfig of cdk.json's context `auth0-events`). */
  readonly config: Auth0EventsConfig;
  /**
   * Subscriber definitions.
   * @default - the registry, lib/subscribers.ts
   */
  readonly subscribers?: readonly SubscriberDefinition[];
}

export class Auth0EventsStack extends Stack {
  /** The whole pipeline; the fields below are its parts, kept for existing callers (`stack.subscribers.get('users')`). */
  readonly pipeline: Auth0Events;

  constructor(scope: Construct, id: string, props: Auth0EventsStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.pipeline = new Auth0Events(this, 'Default', { ...config, subscribers: props.subscribers });
    refuseExampleConfiguration(this, config, this.pipeline.eventBridge);
  }

  get events(): EventTopic {
    return this.pipeline.events;
  }
  get ingest(): IngestApi {
    return this.pipeline.ingest;
  }
  get stores(): Stores {
    return this.pipeline.stores;
  }
  /** Every subscriber of the registry (lib/subscribers.ts), by name: `stack.subscribers.get('users')`. */
  get subscribers(): FanOut {
    return this.pipeline.subscribers;
  }
  get realtime(): SessionEventsSocket {
    return this.pipeline.realtime;
  }
  /** Auth0 partner event buses, rules, queue and consumer, when a tenant names `eventBridgeSources`. */
  get eventBridge(): EventBridgeFrontDoor | undefined {
    return this.pipeline.eventBridge;
  }
  /** Alarm topic, alarm actions on every alarm, the operations alarms and the dashboard (docs/operations.md). */
  get monitoring(): Monitoring {
    return this.pipeline.monitoring;
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
function refuseExampleConfiguration(stack: Stack, config: Auth0EventsConfig, door: EventBridgeFrontDoor | undefined): void {
  const placeholders = examplePlaceholders(config);
  if (placeholders.length === 0) return;
  const choice = new CfnParameter(stack, EXAMPLE_PARAMETER, {
    type: 'String',
    default: 'refuse',
    allowedValues: ['refuse', 'deploy'],
    description:
      'This template was synthesized from the example configuration of cdk.json: "deploy" deploys it anyway (without the partner event buses of its placeholder sources).',
  });
  leaveOutExampleSourceBuses(choice, door);
  const message =
    `auth0-events: this is the example configuration, not yours: ${placeholders.join(', ')} are the example's placeholders (the reserved .example domain, the all-zero partner event source id). ` +
    `Edit cdk.json, context "${CONTEXT_KEY}": tenants (your Auth0 tenant names, and the API identifier of your events API as audience), alarmEmail (your on-call address) and eventBridgeSources (your Auth0 streams' Event Source Names, or none), then run npx cdk deploy again. ` +
    `To deploy the example anyway: npx cdk deploy --parameters ${EXAMPLE_PARAMETER}=deploy`;
  new CfnRule(stack, 'RefuseExampleConfiguration', {
    assertions: [{ assert: Fn.conditionEquals(choice.valueAsString, 'deploy'), assertDescription: message }],
  });
  Annotations.of(stack).addInfo(`${message} (cdk deploy refuses it; synth and tests are unaffected)`);
}

/**
 * The example's partner event source (the all-zero id) exists in no account: only Auth0 creates partner
 * event sources, and CloudFormation cannot create a bus for one that does not exist ("Event source ...
 * does not exist"; the rollback would leave the retained keys and tables behind). So a deploy of the
 * example leaves out the bus and rule of every placeholder source: they carry the condition
 * ExampleSourceBuses, true only when ExampleConfiguration is not "deploy", which the rule above refuses.
 * The rest of the EventBridge front door (queues, keys, consumer, alarms) is deployed, ready for a real
 * source. Buses of real sources are unconditional.
 */
function leaveOutExampleSourceBuses(choice: CfnParameter, door: EventBridgeFrontDoor | undefined): void {
  const placeholderAt = (door?.buses ?? []).flatMap((bus, i) =>
    ((bus.node.defaultChild as events.CfnEventBus).eventSourceName ?? '').includes(EXAMPLE_SOURCE_ID) ? [i] : [],
  );
  if (!door || placeholderAt.length === 0) return;
  // The buses live in the tenants' nested stacks (lib/tenant-groups.ts): one condition in each stack that
  // has a placeholder bus; its reference to the parameter becomes a parameter of that nested stack.
  const conditions = new Map<Stack, CfnCondition>();
  const conditionIn = (scope: Stack) =>
    conditions.get(scope) ??
    conditions
      .set(scope, new CfnCondition(scope, 'ExampleSourceBuses', { expression: Fn.conditionNot(Fn.conditionEquals(choice.valueAsString, 'deploy')) }))
      .get(scope)!;
  for (const i of placeholderAt) {
    for (const c of [door.buses[i], door.rules[i]]) (c.node.defaultChild as CfnResource).cfnOptions.condition = conditionIn(Stack.of(c));
  }
}

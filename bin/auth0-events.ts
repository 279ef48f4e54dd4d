#!/usr/bin/env node
/**
 * The CDK app. Configuration comes from context key `auth0-events` (cdk.json, or -c) and is
 * validated before anything is built. cdk-nag AwsSolutions runs on every synth: any finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Auth0EventsStack } from '../lib/auth0-events-stack';
import { CONTEXT_KEY, parseConfig } from '../lib/config';

const app = new App();
const config = parseConfig(app.node.tryGetContext(CONTEXT_KEY));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new Auth0EventsStack(app, app.node.tryGetContext('stackName') ?? 'Auth0Events', {
  config,
  description: 'auth0-events: Auth0 Log Streams and Actions to SNS, SQS, DynamoDB and WebSocket',
});
app.synth();

import { Stack, type StackProps, aws_cloudwatch_actions as actions, aws_sns as sns } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Auth0EventsSubscriber, Auth0EventsTopic } from 'auth0-events';

export class AccountSyncStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    new Auth0EventsSubscriber(this, 'AccountSync', {
      name: 'account-sync', filter: { types: ['user_blocked', 'user_deleted'] },
      topic: Auth0EventsTopic.fromParameters(this, 'Auth0Events'),
      handler: { entry: 'lambda/account-sync.ts' }, // relative to the app's directory, where cdk runs
      alarmAction: new actions.SnsAction(new sns.Topic(this, 'Alarms', { enforceSSL: true })), // subscribe your on-call
    });
  }
}

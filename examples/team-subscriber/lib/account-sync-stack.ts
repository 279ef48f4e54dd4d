import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Auth0EventsSubscriber, Auth0EventsTopic } from 'auth0-events';

export class AccountSyncStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    new Auth0EventsSubscriber(this, 'AccountSync', {
      name: 'account-sync',
      topic: Auth0EventsTopic.fromParameters(this, 'Auth0Events'),
      filter: { types: ['user_blocked', 'user_deleted'] },
      handler: { entry: 'lambda/account-sync.ts' }, // relative to the app's directory, where cdk runs
    });
  }
}

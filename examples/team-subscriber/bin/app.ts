#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { AccountSyncStack } from '../lib/account-sync-stack';

const app = new App();
new AccountSyncStack(app, 'AccountSync');
app.synth();

/** A mocked SNS that accepts every PublishBatch entry and records its message, for the ingest handler tests. */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { TEST_TENANTS } from '../../harness/auth0-logs';

export const TEST_TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';

/** Registers jest hooks (TENANTS and TOPIC_ARN set, the mock reset per test); `messages` holds what was published in the current test. */
export function recordingSns(): { sns: ReturnType<typeof mockClient>; messages: string[] } {
  const sns = mockClient(SNSClient);
  const state = { sns, messages: [] as string[] };
  beforeAll(() => {
    process.env.TENANTS = TEST_TENANTS;
    process.env.TOPIC_ARN = TEST_TOPIC;
  });
  beforeEach(() => {
    state.messages.length = 0;
    sns.reset();
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      state.messages.push(...input.PublishBatchRequestEntries!.map((e) => e.Message!));
      return { Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id!, MessageId: 'm' })), Failed: [] };
    });
  });
  afterAll(() => sns.restore());
  return state;
}

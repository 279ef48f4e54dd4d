// Jest matchers for aws-sdk-client-mock (toHaveReceivedCommandTimes, ...).
import 'aws-sdk-client-mock-jest';

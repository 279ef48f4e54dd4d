// Jest matchers for aws-sdk-client-mock (toHaveReceivedCommandTimes, ...).
import 'aws-sdk-client-mock-jest';

// Handlers log JSON lines (Powertools); keep test output to warnings unless asked (LOG_LEVEL=INFO npm test).
process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL ?? 'WARN';

/**
 * Structured JSON logs (Powertools Logger) for every handler. Log the event `id` with every line
 * about an event; never log keys, tokens or whole user records.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName });
}

/**
 * Structured JSON logs (Powertools Logger) for every handler. Log the event `id` with every line
 * about an event; never log keys, tokens or whole user records.
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** Loggers made by createLogger while no debug sampling was set: no log buffer, one level (isPlainLogger). */
const plain = new WeakSet<Logger>();

export function createLogger(serviceName: string): Logger {
  const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName });
  if (process.env.POWERTOOLS_LOGGER_SAMPLE_RATE === undefined) plain.add(logger);
  return logger;
}

/**
 * True for a logger made by createLogger with no debug sampling: it has no log buffer and one level for
 * every record, so a record's lines may go through it with the record's keys (recordLogger in
 * sqs-events.ts) instead of through a child per record. A team's own logger (buffering, sampling) is not.
 */
export const isPlainLogger = (logger: Logger): boolean => plain.has(logger);

// Import first in handler tests that fail records on purpose: their error lines are expected, so
// Powertools Logger is silent unless LOG_LEVEL asks otherwise (set before any logger is created).
process.env.POWERTOOLS_LOG_LEVEL = process.env.LOG_LEVEL ?? 'SILENT';
export {};

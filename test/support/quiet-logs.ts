// Import first in handler tests: silences Powertools Logger output (set before any logger is created).
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
export {};

export * from './session-events-client';
export * from './middleware';

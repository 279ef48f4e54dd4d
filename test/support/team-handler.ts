/** A team's subscriber handler, as a team would write it against the package's handler entry point. */
import { auth0EventsHandler } from '../../lib/handler';

export const handler = auth0EventsHandler(async (event, { logger }) => {
  if (event.type === 'user_blocked' && !event.user_id) throw new Error('a block without a user');
  logger.info('seen');
});

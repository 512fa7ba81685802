import { CreateSettings1767225600000 } from './migrations/1767225600000-create-settings';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works under
 * ts-jest, ts-node and the compiled build.
 */
export const MIGRATIONS = [CreateSettings1767225600000];

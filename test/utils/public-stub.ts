/**
 * Placeholder for `@Public()` until the auth module exists: test-only controllers are public.
 */
export const Public = (): ClassDecorator => () => undefined;

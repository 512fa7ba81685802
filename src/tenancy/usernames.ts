/**
 * Admin usernames. MySQL's collation (`utf8mb4_unicode_ci`) matches `admin`, `ADMIN`, `ádmin` and
 * `admin ` as one value, SQLite matches none of them: so names are made canonical in code before
 * they are stored or looked up, new ones are restricted to a safe alphabet, and a row the database
 * returns is compared with the canonical name again in code.
 */

/** What a new username may look like once canonical: ASCII letters, digits and `._@-`, 1–64 long. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

/** Why a username is refused, for the `details` of a 400. */
export const USERNAME_RULE =
  'username must be 1-64 characters of a-z, 0-9 and . _ @ - (starting with a letter or digit; case is ignored)';

/**
 * The canonical form of a username: trimmed, Unicode NFKC (full-width and compatibility forms
 * become their plain letters), lower case. `' ＡDMIN '` → `'admin'`; `'ÁDMÍN'` stays accented.
 */
export function canonicalUsername(raw: string): string {
  return raw.trim().normalize('NFKC').toLowerCase();
}

/**
 * The form failed logins are counted under: canonical, then decomposed with the diacritics
 * dropped, so `admin`, `ADMIN`, `ádmin` and `admín` share one lockout counter (not one account).
 */
export function foldedUsername(raw: string): string {
  return canonicalUsername(raw)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '');
}

/** Whether a (canonical) username may be given to a new user. */
export function isSafeUsername(canonical: string): boolean {
  return USERNAME_PATTERN.test(canonical);
}

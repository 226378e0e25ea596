// The manifest's format constants, shared by the zod schema (manifest-schema.ts) and its
// hand-written twin (manifest-check.ts) without either importing the other's values.

export const MANIFEST_VERSION = 1;

/** One name segment: starts with a letter or digit, then [A-Za-z0-9_.-], ≤ 64 chars. */
export const NAME_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const SPRITE_NAME =
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){0,3}$/;

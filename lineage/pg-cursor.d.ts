// Types for pg-cursor (the package ships none): only the constructor Kysely's PostgresDialect takes
// for `.stream()`, so streaming pulls type-check under strict mode.
declare module 'pg-cursor' {
  import type { PostgresCursorConstructor } from 'kysely';
  const Cursor: PostgresCursorConstructor;
  export = Cursor;
}

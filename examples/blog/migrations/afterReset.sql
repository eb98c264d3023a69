/*
 * Runs as the superuser when `graphile-migrate reset` recreates a database
 * (including the shadow database used by `graphile-migrate commit`).
 */
revoke all on database :DATABASE_NAME from public;
grant connect, temporary on database :DATABASE_NAME to :DATABASE_AUTHENTICATOR;
alter schema public owner to :DATABASE_OWNER;
revoke all on schema public from public;

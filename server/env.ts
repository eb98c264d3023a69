/**
 * Imported first by every entry point: Grafast reads GRAPHILE_ENV when it
 * loads. Production mode unless the developer opts in (npm run dev does).
 */
process.env.GRAPHILE_ENV ??= "production";

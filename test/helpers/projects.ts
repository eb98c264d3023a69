/**
 * The projects the suite migrates into template databases (test/run.ts).
 * An `imported` one is built from a Hasura project (`dir`) by the importer
 * (importHasuraProject), with the demo rows of the project it stands for
 * (`seeds`): the policy tests run against both, and must see no difference.
 */
export const PROJECTS = [
  { name: "app", dir: ".", template: "tmpl_app" },
  { name: "blog", dir: "examples/blog", template: "tmpl_blog" },
  { name: "app-imported", dir: "examples/school/hasura", template: "tmpl_app_imported", imported: true, seeds: "seeds" },
  { name: "blog-imported", dir: "examples/blog/hasura", template: "tmpl_blog_imported", imported: true, seeds: "examples/blog/seeds" },
] as const;

export type ProjectName = (typeof PROJECTS)[number]["name"];

/** The school platform's projects: hand-written, and imported from its Hasura metadata. */
export const SCHOOL_PROJECTS = ["app", "app-imported"] as const satisfies readonly ProjectName[];
/** The blog's projects: hand-written, and imported from its Hasura metadata. */
export const BLOG_PROJECTS = ["blog", "blog-imported"] as const satisfies readonly ProjectName[];

/** LOGIN roles of the test cluster; passwords are throwaway. */
export const TEST_ROLES = {
  owner: { name: "app_owner", password: "test-owner-password" },
  authenticator: { name: "authenticator", password: "test-authenticator-password" },
} as const;

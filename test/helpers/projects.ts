/** The projects the suite migrates into template databases (test/run.ts). */
export const PROJECTS = [
  { name: "app", dir: ".", template: "tmpl_app" },
  { name: "blog", dir: "examples/blog", template: "tmpl_blog" },
] as const;

export type ProjectName = (typeof PROJECTS)[number]["name"];

/** LOGIN roles of the test cluster; passwords are throwaway. */
export const TEST_ROLES = {
  owner: { name: "app_owner", password: "test-owner-password" },
  authenticator: { name: "authenticator", password: "test-authenticator-password" },
} as const;

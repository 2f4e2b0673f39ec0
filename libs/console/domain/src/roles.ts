/** What a console user may do: read (`viewer`), change the pipeline's configuration (`editor`), also manage users and secrets (`admin`). */
export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** A signed-in console user as the API shows them. */
export interface ConsoleUser {
  username: string;
  role: Role;
}

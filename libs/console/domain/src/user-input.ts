/** The fields of a new console user, validated (errors by field name, as the API answers them). */
import { Checker, type ValidationResult } from '@mosaic/shared-validation';
import { ROLES, type Role } from './roles';

export const USERNAME_PATTERN = /^[a-z0-9._@-]{3,64}$/;
export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the work one sign-in can ask of the hasher. */
export const MAX_PASSWORD_LENGTH = 1024;

export interface NewUser {
  username: string;
  password: string;
  role: Role;
}

export function validateUsername(c: Checker, value: unknown, path = 'username'): value is string {
  return c.string(value, path, { max: 64, pattern: USERNAME_PATTERN, patternText: '3–64 characters of a-z 0-9 . _ @ -' });
}

export function validatePassword(c: Checker, value: unknown, path = 'password'): value is string {
  if (!c.string(value, path, { max: MAX_PASSWORD_LENGTH })) return false;
  return value.length >= MIN_PASSWORD_LENGTH || c.fail(path, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
}

export function validateNewUser(body: unknown): ValidationResult<NewUser> {
  const c = new Checker();
  if (!c.object(body, '', '{"username", "password", "role"}')) return c.result(() => body as NewUser);
  c.fields(body, '', ['username', 'password', 'role'], ['username', 'password', 'role']);
  const { username, password, role } = body;
  if (username !== undefined) validateUsername(c, username);
  if (password !== undefined) validatePassword(c, password);
  if (role !== undefined) c.oneOf(role, 'role', ROLES);
  return c.result(() => ({ username: username as string, password: password as string, role: role as Role }));
}

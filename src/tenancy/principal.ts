import type { ApiKeyScope } from './entities/api-key.entity';
import type { AdminRole } from './entities/admin-user.entity';
import type { ProjectSettings } from './project-settings';

/** Who is calling: a project (through one of its API keys) or an admin (through a JWT). */
export type Principal = ProjectPrincipal | AdminPrincipal;

export interface ProjectPrincipal {
  readonly kind: 'project';
  readonly projectId: string;
  readonly keyId: string;
  /** Display prefix of the key, safe to log. */
  readonly keyPrefix: string;
  /** Null: every scope. */
  readonly scopes: ReadonlySet<ApiKeyScope> | null;
  /** The project's settings, as of the key's last load (reloaded when the project changes). */
  readonly settings: Readonly<ProjectSettings>;
}

export interface AdminPrincipal {
  readonly kind: 'admin';
  readonly userId: string;
  readonly username: string;
  readonly role: AdminRole;
}

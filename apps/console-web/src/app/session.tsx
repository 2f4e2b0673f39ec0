import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setCsrfToken, setUnauthorizedHandler } from '../api/client';
import type { Role, SessionResponse, SessionUser, SpaSettings } from '../api/types';

export interface SessionState {
  /** `undefined` while `GET /api/session` is pending; `null` when signed out. */
  user: SessionUser | null | undefined;
  /** The deployment's settings, from the same answer as the user; null until signed in. */
  settings: SpaSettings | null;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);
  const [settings, setSettings] = useState<SpaSettings | null>(null);

  const accept = useCallback((s: SessionResponse) => {
    setCsrfToken(s.csrfToken);
    setSettings(s.settings);
    setUser(s.user);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setUser(null);
    });
    api<SessionResponse>('/session', { allowUnauthorized: true })
      .then(accept)
      .catch(() => setUser(null));
  }, [accept]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      accept(await api<SessionResponse>('/session', { method: 'POST', body: { username, password }, allowUnauthorized: true }));
    },
    [accept],
  );

  const signOut = useCallback(async () => {
    try {
      await api<null>('/session', { method: 'DELETE', allowUnauthorized: true });
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);

  const value = useMemo(() => ({ user, settings, signIn, signOut }), [user, settings, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

/** The signed-in user (inside the signed-in routes). */
export function useUser(): SessionUser {
  const { user } = useSession();
  if (!user) throw new Error('useUser: not signed in');
  return user;
}

/** Editors and admins change things; viewers read (and preview segments). */
export function canEdit(role: Role): boolean {
  return role === 'editor' || role === 'admin';
}

// The signed-in user, their teams and the team being worked in.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { SessionInfo, SessionTeam } from './types';

export interface SessionState {
    info: SessionInfo;
    team: SessionTeam;
    setTeam: (id: number) => void;
    signOut: () => void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
    const s = useContext(SessionContext);
    if (!s) throw new Error('useSession outside a session');
    return s;
}

const teamKey = 'switchboard.team';

export function rememberedTeam(info: SessionInfo): SessionTeam | undefined {
    const stored = Number(window.localStorage.getItem(teamKey));
    return info.teams.find((t) => t.id === stored) ?? info.teams[0];
}

export function rememberTeam(id: number): void {
    window.localStorage.setItem(teamKey, String(id));
}

// Roles that may change connections and scenarios (docs/api.md, Roles).
export function canEdit(role: string): boolean {
    return role === 'admin' || role === 'member';
}

export function canRun(role: string): boolean {
    return role !== 'monitoring';
}

// The application: session handling, the left sidebar and the pages.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, setCsrfToken, setUnauthorizedHandler } from './api';
import { SetupPage, SignInPage } from './pages/authPages';
import { ConnectionsPage } from './pages/connections';
import { DynamicConnectionsPage } from './pages/dynamic';
import { AuditPage, TeamPage } from './pages/team';
import { ScenariosPage } from './pages/scenarios';
import { ScenarioBuilder } from './pages/builder';
import { HistoryPage } from './pages/history';
import { linkClick, match, navigate, usePath } from './router';
import { rememberTeam, rememberedTeam, SessionContext, type SessionState } from './session';
import type { SessionInfo } from './types';
import { EmptyState, Spinner } from './ui';

type Phase = { kind: 'loading' } | { kind: 'signedOut'; notice?: string } | { kind: 'signedIn'; info: SessionInfo };

export function App() {
    const path = usePath();
    const [phase, setPhase] = useState<Phase>({ kind: 'loading' });

    const signedIn = (info: SessionInfo) => {
        setCsrfToken(info.csrfToken);
        setPhase({ kind: 'signedIn', info });
    };

    useEffect(() => {
        setUnauthorizedHandler(() => {
            setCsrfToken('');
            setPhase({ kind: 'signedOut', notice: 'Your session has ended. Sign in again.' });
        });
        if (window.location.pathname === '/setup') {
            setPhase({ kind: 'signedOut' });
            return;
        }
        api.session()
            .then(signedIn)
            .catch(() => setPhase({ kind: 'signedOut' }));
    }, []);

    if (path.split('?')[0] === '/setup' && phase.kind !== 'signedIn') {
        const token = new URLSearchParams(window.location.search).get('token') ?? '';
        return (
            <SetupPage
                token={token}
                onSignedIn={(info) => {
                    signedIn(info);
                    navigate('/scenarios', { replace: true });
                }}
            />
        );
    }
    if (phase.kind === 'loading') {
        return (
            <div class="loading-page">
                <Spinner label="Loading" />
            </div>
        );
    }
    if (phase.kind === 'signedOut') {
        return (
            <SignInPage
                notice={phase.notice}
                onSignedIn={(info) => {
                    signedIn(info);
                    if (path === '/' || path.startsWith('/setup') || path === '/sign-in') navigate('/scenarios', { replace: true });
                }}
            />
        );
    }
    return (
        <Shell
            info={phase.info}
            onSignOut={async () => {
                try {
                    await api.logout();
                } finally {
                    setCsrfToken('');
                    setPhase({ kind: 'signedOut', notice: 'You have signed out.' });
                    navigate('/', { replace: true });
                }
            }}
        />
    );
}

const navItems: Array<{ href: string; label: string; icon: string }> = [
    { href: '/scenarios', label: 'Scenarios', icon: 'M4 5h5v5H4zM15 14h5v5h-5zM6.5 10v3a2.5 2.5 0 002.5 2.5h6' },
    {
        href: '/connections',
        label: 'Connections',
        icon: 'M10 13a5 5 0 007.07 0l2.83-2.83a5 5 0 00-7.07-7.07l-1.3 1.3M14 11a5 5 0 00-7.07 0l-2.83 2.83a5 5 0 007.07 7.07l1.3-1.3',
    },
    { href: '/dynamic-connections', label: 'Dynamic connections', icon: 'M16 3h5v5M4 20L21 3M21 16v5h-5M15 15l6 6M4 4l5 5' },
    { href: '/team', label: 'Team', icon: 'M9 11a3 3 0 100-6 3 3 0 000 6zM3 19a6 6 0 0112 0M17 11a2.5 2.5 0 100-5M21 19a5 5 0 00-4-4.9' },
    { href: '/audit', label: 'Audit log', icon: 'M7 3h10v18H7zM10 8h4M10 12h4M10 16h2' },
];

function Shell(props: { info: SessionInfo; onSignOut: () => void }) {
    const path = usePath();
    const [teamId, setTeamId] = useState(() => rememberedTeam(props.info)?.id ?? 0);
    const [menuOpen, setMenuOpen] = useState(false);
    const team = props.info.teams.find((t) => t.id === teamId) ?? props.info.teams[0];

    useEffect(() => {
        if (!menuOpen) return;
        const onKey = (e: KeyboardEvent) => {
            if (e.key === 'Escape') setMenuOpen(false);
        };
        document.addEventListener('keydown', onKey);
        return () => document.removeEventListener('keydown', onKey);
    }, [menuOpen]);
    useEffect(() => {
        setMenuOpen(false);
        if (path === '/' || path === '/sign-in' || path.startsWith('/setup')) navigate('/scenarios', { replace: true });
    }, [path]);
    const firstRender = useRef(true);
    useEffect(() => {
        // After navigating (not on the first load), move focus to the new page's heading, for screen readers and
        // keyboards.
        if (firstRender.current) {
            firstRender.current = false;
            return;
        }
        const h = document.getElementById('page-title');
        if (h && (document.activeElement === document.body || document.activeElement?.closest('.nav-list'))) h.focus();
    }, [path]);

    const session: SessionState | null = useMemo(
        () =>
            team
                ? {
                      info: props.info,
                      team,
                      setTeam: (id: number) => {
                          rememberTeam(id);
                          setTeamId(id);
                      },
                      signOut: props.onSignOut,
                  }
                : null,
        [props.info, team?.id],
    );

    if (!session || !team) {
        return (
            <main class="auth-page" id="main">
                <div class="auth-card">
                    <EmptyState title="You are not in any team">
                        Ask an administrator to add {props.info.user.email} to a team.
                    </EmptyState>
                    <button type="button" class="button" onClick={props.onSignOut}>
                        Sign out
                    </button>
                </div>
            </main>
        );
    }

    return (
        <SessionContext.Provider value={session}>
            <a class="skip-link" href="#main">
                Skip to content
            </a>
            <div class={`layout${menuOpen ? ' menu-open' : ''}`}>
                <header class="topbar">
                    <button
                        type="button"
                        class="icon-button menu-button"
                        aria-expanded={menuOpen}
                        aria-controls="sidebar"
                        onClick={() => setMenuOpen(!menuOpen)}
                    >
                        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                            <path d="M4 7h16M4 12h16M4 17h16" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
                        </svg>
                        <span class="visually-hidden">Menu</span>
                    </button>
                    <span class="brand">
                        <span class="brand-mark" aria-hidden="true" />
                        Switchboard
                    </span>
                </header>
                <nav class="sidebar" id="sidebar" aria-label="Main">
                    <div class="brand sidebar-brand">
                        <span class="brand-mark" aria-hidden="true" />
                        Switchboard
                    </div>
                    <div class="team-switcher">
                        <label for="team-switcher">Team</label>
                        <select
                            id="team-switcher"
                            value={String(team.id)}
                            onChange={(e) => session.setTeam(Number(e.currentTarget.value))}
                        >
                            {props.info.teams.map((t) => (
                                <option key={t.id} value={String(t.id)}>
                                    {t.name}
                                </option>
                            ))}
                        </select>
                    </div>
                    <ul class="nav-list">
                        {navItems.map((item) => {
                            const bare = path.split('?')[0]!;
                            const active = bare === item.href || bare.startsWith(`${item.href}/`);
                            return (
                                <li key={item.href}>
                                    <a
                                        href={item.href}
                                        class={`nav-link${active ? ' active' : ''}`}
                                        aria-current={active ? 'page' : undefined}
                                        onClick={linkClick}
                                    >
                                        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                                            <path d={item.icon} fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
                                        </svg>
                                        {item.label}
                                    </a>
                                </li>
                            );
                        })}
                    </ul>
                    <div class="sidebar-footer">
                        <div class="user-box">
                            <span class="user-name">{props.info.user.name || props.info.user.email}</span>
                            <span class="user-email">{props.info.user.email}</span>
                            <span class="user-role">{team.role}</span>
                        </div>
                        <button type="button" class="button button-ghost sidebar-signout" onClick={props.onSignOut}>
                            Sign out
                        </button>
                    </div>
                </nav>
                {menuOpen && (
                    <button type="button" class="menu-backdrop" aria-label="Close the menu" onClick={() => setMenuOpen(false)} />
                )}
                <main class="content" id="main" key={team.id}>
                    <Page path={path} />
                </main>
            </div>
        </SessionContext.Provider>
    );
}

function Page(props: { path: string }) {
    const [p, query = ''] = props.path.split('?') as [string, string?];
    const params = new URLSearchParams(query);
    let m: Record<string, string> | null;
    if (p === '/scenarios') return <ScenariosPage />;
    // One builder for /scenarios/new and /scenarios/{id}: saving a new scenario moves to its path in place.
    if (p === '/scenarios/new') return <ScenarioBuilder key="builder" scenarioId={null} />;
    if ((m = match('/scenarios/:id/history', p))) {
        const execution = params.get('execution');
        return <HistoryPage key={m.id} scenarioId={Number(m.id)} executionId={execution ? Number(execution) : undefined} />;
    }
    if ((m = match('/scenarios/:id', p))) return <ScenarioBuilder key="builder" scenarioId={Number(m.id)} />;
    if (p === '/connections') return <ConnectionsPage highlight={Number(params.get('connection')) || undefined} />;
    if (p === '/dynamic-connections') return <DynamicConnectionsPage />;
    if (p === '/team') return <TeamPage />;
    if (p === '/audit') return <AuditPage />;
    if (p === '/' || p === '/sign-in' || p === '/setup') return null;
    return (
        <EmptyState
            title="Page not found"
            action={
                <a class="button" href="/scenarios" onClick={linkClick}>
                    Go to Scenarios
                </a>
            }
        >
            There is no page at {p}.
        </EmptyState>
    );
}

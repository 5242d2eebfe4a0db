// A small history-API router: paths such as /connections or /scenarios/5. The server answers index.html for
// every path that is not an API, OAuth callback or asset, so deep links and reloads work.
import { useEffect, useState } from 'preact/hooks';

type Listener = () => void;
const listeners = new Set<Listener>();

// The path with its query string, e.g. "/scenarios/5/history?execution=41".
export function currentPath(): string {
    return window.location.pathname + window.location.search;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
    if (to === window.location.pathname + window.location.search) return;
    if (options.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    listeners.forEach((l) => l());
}

window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function usePath(): string {
    const [path, setPath] = useState(currentPath());
    useEffect(() => {
        const l = () => setPath(currentPath());
        listeners.add(l);
        return () => {
            listeners.delete(l);
        };
    }, []);
    return path;
}

// Matches "/scenarios/:id" against a path (its query string ignored); returns the parameters or null.
export function match(pattern: string, path: string): Record<string, string> | null {
    const p = pattern.split('/').filter(Boolean);
    const s = path.split('?')[0]!.split('/').filter(Boolean);
    if (p.length !== s.length) return null;
    const out: Record<string, string> = {};
    for (let i = 0; i < p.length; i += 1) {
        const part = p[i]!;
        if (part.startsWith(':')) out[part.slice(1)] = decodeURIComponent(s[i]!);
        else if (part !== s[i]) return null;
    }
    return out;
}

// Click handler for <a href> links that stay inside the app (modifier clicks open a new tab as usual).
export function linkClick(e: MouseEvent): void {
    const a = e.currentTarget as HTMLAnchorElement;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href') ?? '/');
}

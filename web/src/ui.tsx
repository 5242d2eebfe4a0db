// Shared building blocks: dialogs, app icons, status marks, empty states, error messages.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { ApiError } from './api';
import { initials } from './catalog';

let dialogCounter = 0;

const focusableSelector =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

// A modal dialog: labelled by its title, keeps Tab inside, Escape closes, focus returns to where it was.
export function Dialog(props: {
    title: string;
    onClose: () => void;
    children: ComponentChildren;
    footer?: ComponentChildren;
    wide?: boolean;
    initialFocus?: string; // a selector inside the dialog
}) {
    const ref = useRef<HTMLDivElement>(null);
    const idRef = useRef(`dialog-${++dialogCounter}`);
    const onCloseRef = useRef(props.onClose);
    onCloseRef.current = props.onClose;

    useLayoutEffect(() => {
        const previous = document.activeElement as HTMLElement | null;
        const root = ref.current;
        const first =
            (props.initialFocus ? root?.querySelector<HTMLElement>(props.initialFocus) : null) ??
            root?.querySelector<HTMLElement>('.dialog-body ' + focusableSelector) ??
            root?.querySelector<HTMLElement>(focusableSelector);
        first?.focus();
        return () => {
            if (previous && document.contains(previous)) previous.focus();
        };
    }, []);

    useEffect(() => {
        const onKey = (e: KeyboardEvent) => {
            const root = ref.current;
            if (!root) return;
            // Only the topmost dialog reacts.
            const dialogs = document.querySelectorAll('.dialog');
            if (dialogs[dialogs.length - 1] !== root) return;
            if (e.key === 'Escape') {
                e.preventDefault();
                onCloseRef.current();
            } else if (e.key === 'Tab') {
                const items = Array.from(root.querySelectorAll<HTMLElement>(focusableSelector)).filter(
                    (el) => el.offsetParent !== null,
                );
                if (items.length === 0) return;
                const first = items[0]!;
                const last = items[items.length - 1]!;
                if (e.shiftKey && document.activeElement === first) {
                    e.preventDefault();
                    last.focus();
                } else if (!e.shiftKey && document.activeElement === last) {
                    e.preventDefault();
                    first.focus();
                }
            }
        };
        document.addEventListener('keydown', onKey);
        return () => document.removeEventListener('keydown', onKey);
    }, []);

    return (
        <div class="overlay" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
            <div
                class={`dialog${props.wide ? ' dialog-wide' : ''}`}
                role="dialog"
                aria-modal="true"
                aria-labelledby={`${idRef.current}-title`}
                ref={ref}
            >
                <header class="dialog-header">
                    <h2 id={`${idRef.current}-title`}>{props.title}</h2>
                    <button type="button" class="icon-button" aria-label="Close dialog" onClick={props.onClose}>
                        <CloseIcon />
                    </button>
                </header>
                <div class="dialog-body">{props.children}</div>
                {props.footer && <footer class="dialog-footer">{props.footer}</footer>}
            </div>
        </div>
    );
}

export function AppIcon(props: { label: string; theme?: string; size?: 'small' | 'large' | 'medium' }) {
    return (
        <span
            class={`app-icon app-icon-${props.size ?? 'medium'}`}
            style={{ background: props.theme || '#5b6b7b' }}
            aria-hidden="true"
        >
            {initials(props.label)}
        </span>
    );
}

export function CheckCircleIcon(props: { title?: string }) {
    return (
        <svg class="icon" viewBox="0 0 24 24" width="20" height="20" role={props.title ? 'img' : undefined} aria-hidden={props.title ? undefined : 'true'}>
            {props.title && <title>{props.title}</title>}
            <circle cx="12" cy="12" r="10" fill="#1e8e3e" />
            <path d="M7 12.5l3.2 3.2L17 9" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    );
}

export function ErrorCircleIcon(props: { title?: string }) {
    return (
        <svg class="icon" viewBox="0 0 24 24" width="20" height="20" role={props.title ? 'img' : undefined} aria-hidden={props.title ? undefined : 'true'}>
            {props.title && <title>{props.title}</title>}
            <circle cx="12" cy="12" r="10" fill="#c5221f" />
            <path d="M8.5 8.5l7 7M15.5 8.5l-7 7" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" />
        </svg>
    );
}

export function CloseIcon() {
    return (
        <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path d="M6 6l12 12M18 6L6 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
        </svg>
    );
}

export function PlusIcon() {
    return (
        <svg class="icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
            <path d="M12 5v14M5 12h14" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
        </svg>
    );
}

export function Spinner(props: { label?: string }) {
    return <span class="spinner" role={props.label ? 'status' : undefined} aria-label={props.label} />;
}

export function EmptyState(props: { title: string; children?: ComponentChildren; action?: ComponentChildren }) {
    return (
        <div class="empty-state">
            <h2>{props.title}</h2>
            {props.children && <p>{props.children}</p>}
            {props.action}
        </div>
    );
}

// An error from the API (message, detail and the list of suberrors) or any other failure.
// Brings a message that just appeared into view (e.g. at the end of a long dialog).
function useReveal<T extends HTMLElement>(key: unknown) {
    const ref = useRef<T>(null);
    useEffect(() => {
        ref.current?.scrollIntoView?.({ block: 'nearest' });
    }, [key]);
    return ref;
}

export function ErrorMessage(props: { error: unknown; title?: string }) {
    if (!props.error) return null;
    return <ErrorBox error={props.error} title={props.title} />;
}

function ErrorBox(props: { error: unknown; title?: string }) {
    const ref = useReveal<HTMLDivElement>(props.error);
    const e = props.error;
    let text: string;
    let subs: string[] = [];
    if (e instanceof ApiError) {
        text = e.describe();
        subs = e.suberrors.map((s) => String(s.message ?? s.detail ?? JSON.stringify(s))).filter(Boolean);
    } else if (e instanceof Error) {
        text = e.message;
    } else {
        text = String(e);
    }
    return (
        <div class="error-message" role="alert" ref={ref}>
            <ErrorCircleIcon />
            <div>
                {props.title && <strong>{props.title} </strong>}
                <span>{text}</span>
                {subs.length > 0 && (
                    <ul>
                        {subs.map((s) => (
                            <li key={s}>{s}</li>
                        ))}
                    </ul>
                )}
            </div>
        </div>
    );
}

export function Notice(props: { kind: 'success' | 'info' | 'warning'; children: ComponentChildren }) {
    const ref = useReveal<HTMLDivElement>(props.kind);
    return (
        <div class={`notice notice-${props.kind}`} role="status" ref={ref}>
            {props.children}
        </div>
    );
}

const statusLabels: Record<string, string> = {
    verified: 'Verified',
    unverified: 'Not verified',
    failed: 'Verification failed',
    needs_reauthorization: 'Needs reauthorization',
    pending: 'Waiting for authorization',
    broken: 'Needs new credentials',
};

export function ConnectionStatusBadge(props: { status: string }) {
    return <span class={`badge badge-${props.status}`}>{statusLabels[props.status] ?? props.status}</span>;
}

const executionLabels: Record<string, string> = {
    success: 'Success',
    warning: 'Warning',
    error: 'Error',
    queued: 'Queued',
    running: 'Running',
    incomplete: 'Incomplete',
};

export function ExecutionStatusBadge(props: { status: string }) {
    return <span class={`badge badge-exec-${props.status}`}>{executionLabels[props.status] ?? props.status}</span>;
}

export function formatDate(iso: string | null | undefined): string {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
    });
}

export function Toggle(props: {
    checked: boolean;
    onChange: (v: boolean) => void;
    label: string;
    disabled?: boolean;
    id?: string;
}) {
    return (
        <button
            type="button"
            role="switch"
            id={props.id}
            class={`toggle${props.checked ? ' toggle-on' : ''}`}
            aria-checked={props.checked}
            aria-label={props.label}
            disabled={props.disabled}
            onClick={() => props.onChange(!props.checked)}
        >
            <span class="toggle-knob" aria-hidden="true" />
            <span class="toggle-text" aria-hidden="true">
                {props.checked ? 'ON' : 'OFF'}
            </span>
        </button>
    );
}

export function PageHeader(props: { title: string; children?: ComponentChildren; subtitle?: ComponentChildren }) {
    return (
        <div class="page-header">
            <div>
                <h1 tabIndex={-1} id="page-title">
                    {props.title}
                </h1>
                {props.subtitle && <p class="page-subtitle">{props.subtitle}</p>}
            </div>
            {props.children && <div class="page-actions">{props.children}</div>}
        </div>
    );
}

export type ButtonProps = JSX.HTMLAttributes<HTMLButtonElement>;

// The Connections page: every connection of the team with its app, account, status and usage, and the
// buttons Edit, Verify, Reauthorize (OAuth) and Delete.
import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { isOAuthKind, loadCatalog, type AppDef } from '../catalog';
import { CreateConnectionDialog, EditConnectionDialog, ReauthorizeDialog } from '../connectionDialogs';
import { canEdit, canRun, useSession } from '../session';
import type { Connection, Usage } from '../types';
import {
    AppIcon,
    CheckCircleIcon,
    ConnectionStatusBadge,
    Dialog,
    EmptyState,
    ErrorCircleIcon,
    ErrorMessage,
    formatDate,
    Notice,
    PageHeader,
    Spinner,
} from '../ui';

export function isOAuthConnection(c: Connection): boolean {
    const t = loadCatalog().connectionType(c.accountName);
    return t ? isOAuthKind(t.kind) : c.accountType === 'oauth';
}

export function ConnectionsPage(props: { highlight?: number }) {
    const { team } = useSession();
    const [list, setList] = useState<Connection[] | null>(null);
    const [error, setError] = useState<unknown>(null);
    const [filter, setFilter] = useState('');
    const [creating, setCreating] = useState<AppDef | 'choose' | null>(null);
    const [editing, setEditing] = useState<Connection | null>(null);
    const [reauthorizing, setReauthorizing] = useState<Connection | null>(null);
    const [announce, setAnnounce] = useState('');

    const load = () => {
        setError(null);
        api.connections(team.id).then(setList, setError);
    };
    useEffect(load, [team.id]);
    // Arriving from an error that names a connection (/connections?connection=12): show that one.
    useEffect(() => {
        if (!list || !props.highlight) return;
        const el = document.getElementById(`connection-${props.highlight}`);
        el?.scrollIntoView({ block: 'center' });
        el?.focus();
    }, [list !== null, props.highlight]);

    const replace = (c: Connection) => setList((l) => (l ? l.map((x) => (x.id === c.id ? c : x)) : l));
    const shown = (list ?? []).filter((c) =>
        `${c.name} ${c.appLabel} ${c.metadata?.value ?? ''}`.toLowerCase().includes(filter.trim().toLowerCase()),
    );
    const editor = canEdit(team.role);

    return (
        <div class="page">
            <PageHeader title="Connections" subtitle="The credentials your scenarios use to reach apps. Secrets never leave the server.">
                {editor && list !== null && list.length > 0 && (
                    <button type="button" class="button button-primary" onClick={() => setCreating('choose')}>
                        Create a connection
                    </button>
                )}
            </PageHeader>
            <div class="visually-hidden" aria-live="polite">
                {announce}
            </div>
            {error !== null && (
                <div>
                    <ErrorMessage error={error} title="The connections could not be loaded." />
                    <button type="button" class="button" onClick={load}>
                        Try again
                    </button>
                </div>
            )}
            {list === null && error === null && <Spinner label="Loading connections" />}
            {list !== null && list.length === 0 && (
                <EmptyState
                    title="No connections yet"
                    action={
                        editor && (
                            <button type="button" class="button button-primary" onClick={() => setCreating('choose')}>
                                Create a connection
                            </button>
                        )
                    }
                >
                    A connection holds the credentials of one account in an app. Create one here, or from a module in the scenario builder.
                </EmptyState>
            )}
            {list !== null && list.length > 0 && (
                <>
                    <div class="toolbar">
                        <label class="visually-hidden" for="connections-filter">
                            Search connections
                        </label>
                        <input
                            id="connections-filter"
                            type="search"
                            placeholder="Search connections"
                            value={filter}
                            onInput={(e) => setFilter(e.currentTarget.value)}
                        />
                        <span class="muted small">
                            {list.length} connection{list.length === 1 ? '' : 's'}
                        </span>
                    </div>
                    {shown.length === 0 && <p class="muted">No connection matches “{filter}”.</p>}
                    <ul class="card-list" aria-label="Connections">
                        {shown.map((c) => (
                            <ConnectionRow
                                key={c.id}
                                connection={c}
                                highlighted={props.highlight === c.id}
                                editor={editor}
                                runner={canRun(team.role)}
                                onEdit={() => setEditing(c)}
                                onReauthorize={() => setReauthorizing(c)}
                                onChanged={replace}
                                onDeleted={() => {
                                    setList((l) => (l ? l.filter((x) => x.id !== c.id) : l));
                                    setAnnounce(`Connection ${c.name} deleted.`);
                                }}
                            />
                        ))}
                    </ul>
                </>
            )}
            {creating === 'choose' && (
                <ChooseAppDialog onClose={() => setCreating(null)} onChoose={(app) => setCreating(app)} />
            )}
            {creating && creating !== 'choose' && (
                <CreateConnectionDialog
                    types={creating.connections}
                    onClose={() => setCreating(null)}
                    onCreated={(c) => {
                        setCreating(null);
                        setList((l) => [...(l ?? []).filter((x) => x.id !== c.id), c].sort((a, b) => a.name.localeCompare(b.name)));
                        setAnnounce(`Connection ${c.name} created.`);
                    }}
                />
            )}
            {editing && (
                <EditConnectionDialog
                    connection={editing}
                    onClose={() => setEditing(null)}
                    onSaved={(c) => {
                        setEditing(null);
                        replace(c);
                        setAnnounce(`Connection ${c.name} saved.`);
                    }}
                />
            )}
            {reauthorizing && (
                <ReauthorizeDialog
                    connection={reauthorizing}
                    onClose={() => setReauthorizing(null)}
                    onDone={(c) => {
                        setReauthorizing(null);
                        replace(c);
                        setAnnounce(`Connection ${c.name} reauthorized.`);
                    }}
                />
            )}
        </div>
    );
}

function ChooseAppDialog(props: { onClose: () => void; onChoose: (app: AppDef) => void }) {
    const [q, setQ] = useState('');
    const apps = loadCatalog().apps.filter((a) => a.connections.length > 0);
    const shown = apps.filter((a) => `${a.label} ${a.description}`.toLowerCase().includes(q.trim().toLowerCase()));
    return (
        <Dialog title="Create a connection" onClose={props.onClose}>
            <label for="choose-app-search" class="field-label">
                Search apps
            </label>
            <input
                id="choose-app-search"
                type="search"
                placeholder="Search apps"
                value={q}
                onInput={(e) => setQ(e.currentTarget.value)}
            />
            <ul class="choice-list" aria-label="Apps">
                {shown.map((a) => (
                    <li key={a.name}>
                        <button type="button" class="choice" onClick={() => props.onChoose(a)}>
                            <AppIcon label={a.label} theme={a.theme} />
                            <span class="choice-text">
                                <span class="choice-title">{a.label}</span>
                                <span class="choice-sub">{a.connections.map((t) => t.label).join(' · ')}</span>
                            </span>
                        </button>
                    </li>
                ))}
                {shown.length === 0 && <li class="muted">No app matches “{q}”.</li>}
            </ul>
        </Dialog>
    );
}

type VerifyState = { kind: 'idle' } | { kind: 'verifying' } | { kind: 'ok'; message?: string } | { kind: 'failed'; message: string };
type DeleteState = { kind: 'idle' } | { kind: 'checking' } | { kind: 'armed'; usage: Usage[] } | { kind: 'deleting' };

function ConnectionRow(props: {
    connection: Connection;
    highlighted: boolean;
    editor: boolean;
    runner: boolean;
    onEdit: () => void;
    onReauthorize: () => void;
    onChanged: (c: Connection) => void;
    onDeleted: () => void;
}) {
    const c = props.connection;
    const [verify, setVerify] = useState<VerifyState>({ kind: 'idle' });
    const [del, setDel] = useState<DeleteState>({ kind: 'idle' });
    const [error, setError] = useState<unknown>(null);
    const oauth = isOAuthConnection(c);
    const idBase = `connection-${c.id}`;

    const runVerify = async () => {
        setVerify({ kind: 'verifying' });
        setError(null);
        try {
            const r = await api.verify(c.id);
            props.onChanged(r.connection);
            setVerify(r.verified ? { kind: 'ok', message: r.message } : { kind: 'failed', message: r.message || r.connection.statusMessage || 'The app refused the credentials.' });
        } catch (e) {
            setVerify({ kind: 'failed', message: errorText(e) });
        }
    };

    const clickDelete = async () => {
        setError(null);
        if (del.kind === 'armed') {
            setDel({ kind: 'deleting' });
            try {
                await api.deleteConnection(c.id);
                props.onDeleted();
            } catch (e) {
                setError(e);
                setDel({ kind: 'idle' });
            }
            return;
        }
        setDel({ kind: 'checking' });
        try {
            const usage = await api.usage(c.id);
            setDel({ kind: 'armed', usage });
        } catch (e) {
            setError(e);
            setDel({ kind: 'idle' });
        }
    };

    const armed = del.kind === 'armed';
    const activeUsage = armed ? del.usage.filter((u) => u.isActive || u.isScheduled) : [];
    return (
        <li
            class={`card connection-card${armed ? ' card-danger' : ''}${props.highlighted ? ' card-highlight' : ''}`}
            aria-labelledby={`${idBase}-name`}
            id={idBase}
            tabIndex={props.highlighted ? -1 : undefined}
        >
            <div class="connection-main">
                <AppIcon label={c.appLabel || c.packageName} theme={c.theme} size="large" />
                <div class="connection-info">
                    <div class="connection-app">{c.appLabel || c.packageName}</div>
                    <h2 class="connection-name" id={`${idBase}-name`}>
                        {c.name}
                    </h2>
                    <div class="connection-meta">
                        {c.metadata?.value && <span class="connection-account">{c.metadata.value}</span>}
                        <span class="muted">{c.accountLabel || c.accountName}</span>
                    </div>
                    <dl class="facts">
                        <div>
                            <dt>Status</dt>
                            <dd>
                                <ConnectionStatusBadge status={c.status} />
                            </dd>
                        </div>
                        <div>
                            <dt>Last verified</dt>
                            <dd>{formatDate(c.lastVerified)}</dd>
                        </div>
                        <div>
                            <dt>Usage</dt>
                            <dd>
                                Used in {c.usedIn} scenario{c.usedIn === 1 ? '' : 's'}
                            </dd>
                        </div>
                    </dl>
                    {c.statusMessage && c.status !== 'verified' && verify.kind !== 'failed' && (
                        <p class={`status-message${c.status === 'pending' || c.status === 'unverified' ? ' status-note' : ''}`}>{c.statusMessage}</p>
                    )}
                </div>
            </div>
            <div class="connection-actions">
                <div class="button-row">
                    {props.editor && (
                        <button type="button" class="button" onClick={props.onEdit} aria-describedby={`${idBase}-name`}>
                            Edit
                        </button>
                    )}
                    {props.runner && (
                        <button
                            type="button"
                            class="button"
                            onClick={runVerify}
                            disabled={verify.kind === 'verifying'}
                            aria-busy={verify.kind === 'verifying'}
                            aria-describedby={`${idBase}-name`}
                        >
                            {verify.kind === 'verifying' ? (
                                <>
                                    <Spinner /> Verifying
                                </>
                            ) : (
                                'Verify'
                            )}
                        </button>
                    )}
                    {props.editor && oauth && (
                        <button type="button" class="button" onClick={props.onReauthorize} aria-describedby={`${idBase}-name`}>
                            Reauthorize
                        </button>
                    )}
                    {props.editor && (
                        <button
                            type="button"
                            class={`button ${armed ? 'button-danger' : 'button-danger-outline'}`}
                            onClick={clickDelete}
                            disabled={del.kind === 'checking' || del.kind === 'deleting'}
                            aria-describedby={armed ? `${idBase}-confirm` : `${idBase}-name`}
                        >
                            {del.kind === 'deleting' ? 'Deleting…' : armed ? 'Delete' : 'Delete'}
                        </button>
                    )}
                </div>
                <div class="verify-result" aria-live="polite" id={`${idBase}-verify`}>
                    {verify.kind === 'ok' && (
                        <span class="verify-ok">
                            <CheckCircleIcon title="Verified" /> {verify.message ? verify.message : 'Verified'}
                        </span>
                    )}
                    {verify.kind === 'failed' && (
                        <span class="verify-failed">
                            <ErrorCircleIcon title="Verification failed" /> {verify.message}
                        </span>
                    )}
                </div>
            </div>
            {armed && (
                <div class="delete-confirm" id={`${idBase}-confirm`} role="alert">
                    <p>
                        <strong>Click Delete again to delete “{c.name}”.</strong>{' '}
                        {del.usage.length === 0
                            ? 'No scenario uses it.'
                            : 'The scenarios below use it and will fail with AccountValidationError until you pick another connection.'}
                    </p>
                    {activeUsage.length > 0 && (
                        <>
                            <p class="small">Active and scheduled scenarios using it:</p>
                            <ul>
                                {activeUsage.map((u) => (
                                    <li key={u.scenarioId}>
                                        <a href={`/scenarios/${u.scenarioId}`}>{u.scenarioName}</a>{' '}
                                        <span class="muted small">({[u.isActive && 'active', u.isScheduled && 'scheduled'].filter(Boolean).join(', ')})</span>
                                    </li>
                                ))}
                            </ul>
                        </>
                    )}
                    {del.usage.length > activeUsage.length && (
                        <p class="small muted">
                            Also used by {del.usage.length - activeUsage.length} inactive scenario{del.usage.length - activeUsage.length === 1 ? '' : 's'}:{' '}
                            {del.usage
                                .filter((u) => !(u.isActive || u.isScheduled))
                                .map((u) => u.scenarioName)
                                .join(', ')}
                        </p>
                    )}
                    <button type="button" class="button button-small" onClick={() => setDel({ kind: 'idle' })}>
                        Cancel
                    </button>
                </div>
            )}
            {error !== null && <ErrorMessage error={error} />}
            {c.status === 'needs_reauthorization' && oauth && props.editor && (
                <Notice kind="warning">This connection lost access. Reauthorize it to use it again.</Notice>
            )}
        </li>
    );
}

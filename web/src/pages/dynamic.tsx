// Dynamic connections: a named set of connections of one type, each with a label, and a default member.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { loadCatalog } from '../catalog';
import { canEdit, useSession } from '../session';
import type { Connection, DynamicConnection } from '../types';
import { AppIcon, Dialog, EmptyState, ErrorMessage, PageHeader, Spinner } from '../ui';

export function DynamicConnectionsPage() {
    const { team } = useSession();
    const [list, setList] = useState<DynamicConnection[] | null>(null);
    const [connections, setConnections] = useState<Connection[]>([]);
    const [error, setError] = useState<unknown>(null);
    const [editing, setEditing] = useState<DynamicConnection | 'new' | null>(null);
    const [armed, setArmed] = useState<number | null>(null);
    const [rowError, setRowError] = useState<{ id: number; error: unknown } | null>(null);
    const editor = canEdit(team.role);

    const load = () => {
        setError(null);
        api.dynamicConnections(team.id).then(setList, setError);
        api.connections(team.id).then(setConnections, setError);
    };
    useEffect(load, [team.id]);

    const remove = async (d: DynamicConnection) => {
        if (armed !== d.id) {
            setArmed(d.id);
            return;
        }
        try {
            await api.deleteDynamicConnection(d.id);
            setList((l) => (l ? l.filter((x) => x.id !== d.id) : l));
        } catch (e) {
            setRowError({ id: d.id, error: e });
        }
        setArmed(null);
    };

    const create = editor && (
        <button type="button" class="button button-primary" onClick={() => setEditing('new')} disabled={connections.length === 0}>
            Create a dynamic connection
        </button>
    );
    const catalog = loadCatalog();
    const name = (id: number) => connections.find((c) => c.id === id)?.name ?? `Connection ${id}`;
    return (
        <div class="page">
            <PageHeader title="Dynamic connections" subtitle="Let each run choose which connection a module uses, e.g. one account per department.">
                {list !== null && list.length > 0 && create}
            </PageHeader>
            <ErrorMessage error={error} />
            {list === null && error === null && <Spinner label="Loading dynamic connections" />}
            {list !== null && list.length === 0 && (
                <EmptyState title="No dynamic connections yet" action={create || undefined}>
                    {connections.length === 0
                        ? 'Create connections first; a dynamic connection groups connections of one type.'
                        : 'Group connections of one type under labels; a scenario input then picks the member for each run.'}
                </EmptyState>
            )}
            {list !== null && list.length > 0 && (
                <ul class="card-list" aria-label="Dynamic connections">
                    {list.map((d) => {
                        const type = catalog.connectionType(d.connectionType);
                        const app = type ? catalog.app(type.app) : undefined;
                        return (
                            <li class={`card dynamic-card${armed === d.id ? ' card-danger' : ''}`} key={d.id}>
                                <div class="connection-main">
                                    <AppIcon label={app?.label ?? d.connectionType} theme={app?.theme} size="large" />
                                    <div class="connection-info">
                                        <div class="connection-app">{type?.label ?? d.connectionType}</div>
                                        <h2 class="connection-name">{d.name}</h2>
                                        <table class="members">
                                            <caption class="visually-hidden">Members of {d.name}</caption>
                                            <thead>
                                                <tr>
                                                    <th scope="col">Label</th>
                                                    <th scope="col">Connection</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {d.connections.map((m) => (
                                                    <tr key={m.connectionId}>
                                                        <td>
                                                            <code>{m.label}</code>
                                                        </td>
                                                        <td>
                                                            {name(m.connectionId)}
                                                            {d.defaultConnectionId === m.connectionId && <span class="badge badge-default">Default</span>}
                                                        </td>
                                                    </tr>
                                                ))}
                                            </tbody>
                                        </table>
                                    </div>
                                </div>
                                {editor && (
                                    <div class="connection-actions">
                                        <div class="button-row">
                                            <button type="button" class="button" onClick={() => setEditing(d)}>
                                                Edit
                                            </button>
                                            <button
                                                type="button"
                                                class={`button ${armed === d.id ? 'button-danger' : 'button-danger-outline'}`}
                                                onClick={() => void remove(d)}
                                            >
                                                Delete
                                            </button>
                                        </div>
                                        {armed === d.id && (
                                            <p class="small" role="alert">
                                                Click Delete again to confirm. Scenarios using it will fail until they use another connection.{' '}
                                                <button type="button" class="link-button" onClick={() => setArmed(null)}>
                                                    Cancel
                                                </button>
                                            </p>
                                        )}
                                    </div>
                                )}
                                {rowError?.id === d.id && <ErrorMessage error={rowError.error} />}
                            </li>
                        );
                    })}
                </ul>
            )}
            {editing && (
                <DynamicDialog
                    existing={editing === 'new' ? null : editing}
                    connections={connections}
                    onClose={() => setEditing(null)}
                    onSaved={(d) => {
                        setEditing(null);
                        setList((l) => [...(l ?? []).filter((x) => x.id !== d.id), d].sort((a, b) => a.name.localeCompare(b.name)));
                    }}
                />
            )}
        </div>
    );
}

function DynamicDialog(props: {
    existing: DynamicConnection | null;
    connections: Connection[];
    onClose: () => void;
    onSaved: (d: DynamicConnection) => void;
}) {
    const { team } = useSession();
    const catalog = loadCatalog();
    const e = props.existing;
    const types = [...new Set(props.connections.map((c) => c.accountName))];
    const [name, setName] = useState(e?.name ?? '');
    const [type, setType] = useState(e?.connectionType ?? types[0] ?? '');
    const [members, setMembers] = useState<Record<number, string>>(() =>
        Object.fromEntries((e?.connections ?? []).map((m) => [m.connectionId, m.label])),
    );
    const [def, setDef] = useState<number | null>(e?.defaultConnectionId ?? null);
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);
    const candidates = props.connections.filter((c) => c.accountName === type);

    const save = async (ev: Event) => {
        ev.preventDefault();
        setError(null);
        if (!name.trim()) return setError(new Error('Name is required.'));
        const list = Object.entries(members).map(([id, label]) => ({ connectionId: Number(id), label: label.trim() || id }));
        if (list.length === 0) return setError(new Error('Choose at least one connection.'));
        setBusy(true);
        try {
            const body = {
                name: name.trim(),
                connectionType: type,
                connections: list,
                defaultConnectionId: def !== null && members[def] !== undefined ? def : null,
            };
            props.onSaved(e ? await api.updateDynamicConnection(e.id, body) : await api.createDynamicConnection(team.id, body));
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    };

    return (
        <Dialog
            title={e ? `Edit ${e.name}` : 'Create a dynamic connection'}
            onClose={props.onClose}
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Close
                    </button>
                    <button type="submit" form="dynamic-form" class="button button-primary" disabled={busy}>
                        {busy ? 'Saving…' : 'Save'}
                    </button>
                </>
            }
        >
            <form id="dynamic-form" class="form" onSubmit={save}>
                <div class="field">
                    <label for="dynamic-name" class="field-label is-required">
                        Name
                    </label>
                    <input id="dynamic-name" required value={name} onInput={(ev) => setName(ev.currentTarget.value)} />
                </div>
                <div class="field">
                    <label for="dynamic-type" class="field-label">
                        Connection type
                    </label>
                    <select
                        id="dynamic-type"
                        value={type}
                        onChange={(ev) => {
                            setType(ev.currentTarget.value);
                            setMembers({});
                            setDef(null);
                        }}
                    >
                        {types.map((t) => (
                            <option key={t} value={t}>
                                {catalog.connectionType(t)?.label ?? t}
                            </option>
                        ))}
                    </select>
                </div>
                <fieldset class="field">
                    <legend class="field-label">Members</legend>
                    <p class="help">Tick the connections to include and give each a label, e.g. the department it belongs to.</p>
                    {candidates.map((c) => {
                        const on = members[c.id] !== undefined;
                        return (
                            <div class="member-row" key={c.id}>
                                <input
                                    type="checkbox"
                                    id={`member-${c.id}`}
                                    checked={on}
                                    onChange={(ev) => {
                                        const next = { ...members };
                                        if (ev.currentTarget.checked) next[c.id] = '';
                                        else delete next[c.id];
                                        setMembers(next);
                                    }}
                                />
                                <label for={`member-${c.id}`} class="member-name">
                                    {c.name}
                                </label>
                                <label for={`member-${c.id}-label`} class="visually-hidden">
                                    Label of {c.name}
                                </label>
                                <input
                                    id={`member-${c.id}-label`}
                                    placeholder="Label"
                                    disabled={!on}
                                    value={members[c.id] ?? ''}
                                    onInput={(ev) => setMembers({ ...members, [c.id]: ev.currentTarget.value })}
                                />
                            </div>
                        );
                    })}
                </fieldset>
                <div class="field">
                    <label for="dynamic-default" class="field-label">
                        Default connection
                    </label>
                    <select id="dynamic-default" value={def === null ? '' : String(def)} onChange={(ev) => setDef(ev.currentTarget.value ? Number(ev.currentTarget.value) : null)}>
                        <option value="">None</option>
                        {candidates
                            .filter((c) => members[c.id] !== undefined)
                            .map((c) => (
                                <option key={c.id} value={String(c.id)}>
                                    {c.name}
                                </option>
                            ))}
                    </select>
                    <p class="help">Used when a run does not name a member.</p>
                </div>
                <ErrorMessage error={error} />
            </form>
        </Dialog>
    );
}

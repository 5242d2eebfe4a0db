// Team (members and roles) and the audit log.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { useSession } from '../session';
import type { AuditEvent, Member } from '../types';
import { EmptyState, ErrorMessage, formatDate, PageHeader, Spinner } from '../ui';

const roles: Array<{ value: string; label: string; help: string }> = [
    { value: 'admin', label: 'Admin', help: 'everything, including members' },
    { value: 'member', label: 'Member', help: 'changes connections and scenarios' },
    { value: 'operator', label: 'Operator', help: 'runs scenarios' },
    { value: 'monitoring', label: 'Monitoring', help: 'reads only' },
];

export function TeamPage() {
    const { team, info } = useSession();
    const [members, setMembers] = useState<Member[] | null>(null);
    const [error, setError] = useState<unknown>(null);
    const [email, setEmail] = useState('');
    const [role, setRole] = useState('member');
    const [formError, setFormError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);
    const [armed, setArmed] = useState<number | null>(null);
    const admin = team.role === 'admin';

    const load = () => {
        setError(null);
        api.members(team.id).then(setMembers, setError);
    };
    useEffect(load, [team.id]);

    const add = async (e: Event) => {
        e.preventDefault();
        setFormError(null);
        setBusy(true);
        try {
            await api.addMember(team.id, email.trim(), role);
            setEmail('');
            load();
        } catch (err) {
            setFormError(err);
        } finally {
            setBusy(false);
        }
    };

    const changeRole = async (m: Member, r: string) => {
        setError(null);
        try {
            await api.addMember(team.id, m.email, r);
            load();
        } catch (err) {
            setError(err);
        }
    };

    const remove = async (m: Member) => {
        if (armed !== m.userId) {
            setArmed(m.userId);
            return;
        }
        setArmed(null);
        try {
            await api.removeMember(team.id, m.userId);
            load();
        } catch (err) {
            setError(err);
        }
    };

    return (
        <div class="page">
            <PageHeader title="Team" subtitle={team.name} />
            <ErrorMessage error={error} />
            {members === null && error === null && <Spinner label="Loading members" />}
            {members !== null && (
                <div class="table-wrap">
                    <table class="table">
                        <caption class="visually-hidden">Members of {team.name}</caption>
                        <thead>
                            <tr>
                                <th scope="col">Name</th>
                                <th scope="col">Email</th>
                                <th scope="col">Role</th>
                                {admin && (
                                    <th scope="col">
                                        <span class="visually-hidden">Actions</span>
                                    </th>
                                )}
                            </tr>
                        </thead>
                        <tbody>
                            {members.map((m) => (
                                <tr key={m.userId}>
                                    <td>
                                        {m.name || '—'}
                                        {m.userId === info.user.id && <span class="muted small"> (you)</span>}
                                    </td>
                                    <td>{m.email}</td>
                                    <td>
                                        {admin ? (
                                            <>
                                                <label class="visually-hidden" for={`role-${m.userId}`}>
                                                    Role of {m.email}
                                                </label>
                                                <select id={`role-${m.userId}`} value={m.role} onChange={(e) => void changeRole(m, e.currentTarget.value)}>
                                                    {roles.map((r) => (
                                                        <option key={r.value} value={r.value}>
                                                            {r.label}
                                                        </option>
                                                    ))}
                                                </select>
                                            </>
                                        ) : (
                                            roles.find((r) => r.value === m.role)?.label ?? m.role
                                        )}
                                    </td>
                                    {admin && (
                                        <td class="actions-cell">
                                            <button
                                                type="button"
                                                class={`button button-small ${armed === m.userId ? 'button-danger' : 'button-danger-outline'}`}
                                                onClick={() => void remove(m)}
                                                aria-label={armed === m.userId ? `Click again to remove ${m.email}` : `Remove ${m.email}`}
                                            >
                                                {armed === m.userId ? 'Click again to remove' : 'Remove'}
                                            </button>
                                        </td>
                                    )}
                                </tr>
                            ))}
                        </tbody>
                    </table>
                </div>
            )}
            {admin && (
                <section class="card form-card" aria-labelledby="add-member-title">
                    <h2 id="add-member-title">Add a member</h2>
                    <form class="form form-inline" onSubmit={add}>
                        <div class="field">
                            <label for="member-email" class="field-label">
                                Email
                            </label>
                            <input id="member-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
                        </div>
                        <div class="field">
                            <label for="member-role" class="field-label">
                                Role
                            </label>
                            <select id="member-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                                {roles.map((r) => (
                                    <option key={r.value} value={r.value}>
                                        {r.label} — {r.help}
                                    </option>
                                ))}
                            </select>
                        </div>
                        <button type="submit" class="button button-primary" disabled={busy}>
                            Add
                        </button>
                    </form>
                    <ErrorMessage error={formError} />
                </section>
            )}
        </div>
    );
}

// An audit event's detail: an object of facts ({"verified": true, "name": "…"}), shown as "key: value" pairs.
function detailText(detail: unknown): string {
    if (detail === null || detail === undefined) return '';
    if (typeof detail !== 'object') return String(detail);
    return Object.entries(detail as Record<string, unknown>)
        .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
        .join(', ');
}

export function AuditPage() {
    const { team } = useSession();
    const [events, setEvents] = useState<AuditEvent[] | null>(null);
    const [error, setError] = useState<unknown>(null);
    const [filter, setFilter] = useState('');
    const [members, setMembers] = useState<Member[]>([]);
    const load = () => {
        setError(null);
        api.audit(team.id).then(setEvents, setError);
        api.members(team.id).then(setMembers, () => undefined);
    };
    const who = (id: number | null) => (id === null ? '—' : members.find((m) => m.userId === id)?.email ?? `user ${id}`);
    useEffect(load, [team.id]);
    const shown = (events ?? []).filter((e) =>
        `${e.action} ${e.target} ${detailText(e.detail)} ${who(e.userId)}`.toLowerCase().includes(filter.trim().toLowerCase()),
    );
    return (
        <div class="page">
            <PageHeader title="Audit log" subtitle="Who did what in this team, newest first.">
                <button type="button" class="button" onClick={load}>
                    Refresh
                </button>
            </PageHeader>
            <ErrorMessage error={error} />
            {events === null && error === null && <Spinner label="Loading the audit log" />}
            {events !== null && events.length === 0 && <EmptyState title="Nothing has happened yet">Changes to connections and scenarios appear here.</EmptyState>}
            {events !== null && events.length > 0 && (
                <>
                    <div class="toolbar">
                        <label class="visually-hidden" for="audit-filter">
                            Search the audit log
                        </label>
                        <input id="audit-filter" type="search" placeholder="Search actions" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
                    </div>
                    <div class="table-wrap">
                        <table class="table">
                            <caption class="visually-hidden">Audit events</caption>
                            <thead>
                                <tr>
                                    <th scope="col">When</th>
                                    <th scope="col">Action</th>
                                    <th scope="col">Target</th>
                                    <th scope="col">User</th>
                                    <th scope="col">Detail</th>
                                </tr>
                            </thead>
                            <tbody>
                                {shown.map((e) => (
                                    <tr key={e.id}>
                                        <td class="nowrap">{formatDate(e.created)}</td>
                                        <td>
                                            <code>{e.action}</code>
                                        </td>
                                        <td>{e.target}</td>
                                        <td>{who(e.userId)}</td>
                                        <td class="detail-cell">{detailText(e.detail)}</td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    </div>
                </>
            )}
        </div>
    );
}

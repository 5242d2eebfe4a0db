// The team's scenarios: name, apps, scheduling on/off, last edit; "Create a new scenario".
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { loadCatalog } from '../catalog';
import { linkClick, navigate } from '../router';
import { canEdit, useSession } from '../session';
import type { Scenario } from '../types';
import { AppIcon, EmptyState, ErrorMessage, formatDate, PageHeader, Spinner, Toggle } from '../ui';
import { describeSchedule } from './schedule';

export function ScenariosPage() {
    const { team } = useSession();
    const [list, setList] = useState<Scenario[] | null>(null);
    const [error, setError] = useState<unknown>(null);
    const [rowError, setRowError] = useState<{ id: number; error: unknown } | null>(null);
    const editor = canEdit(team.role);

    const load = () => {
        setError(null);
        api.scenarios(team.id).then(setList, setError);
    };
    useEffect(load, [team.id]);

    const toggle = async (s: Scenario, on: boolean) => {
        setRowError(null);
        try {
            const updated = on ? await api.startScenario(s.id) : await api.stopScenario(s.id);
            setList((l) => (l ? l.map((x) => (x.id === s.id ? updated : x)) : l));
        } catch (e) {
            setRowError({ id: s.id, error: e });
        }
    };

    const create = (
        <button type="button" class="button button-primary" onClick={() => navigate('/scenarios/new')}>
            Create a new scenario
        </button>
    );
    const catalog = loadCatalog();
    return (
        <div class="page">
            <PageHeader title="Scenarios">{editor && list !== null && list.length > 0 && create}</PageHeader>
            {error !== null && (
                <div>
                    <ErrorMessage error={error} title="The scenarios could not be loaded." />
                    <button type="button" class="button" onClick={load}>
                        Try again
                    </button>
                </div>
            )}
            {list === null && error === null && <Spinner label="Loading scenarios" />}
            {list !== null && list.length === 0 && (
                <EmptyState title="No scenarios yet" action={editor ? create : undefined}>
                    A scenario connects apps: a trigger starts it, and each module after it does one step with the data.
                </EmptyState>
            )}
            {list !== null && list.length > 0 && (
                <ul class="card-list" aria-label="Scenarios">
                    {list.map((s) => (
                        <li class="card scenario-card" key={s.id}>
                            <div class="scenario-apps" aria-hidden="true">
                                {s.usedPackages.slice(0, 4).map((p) => {
                                    const app = catalog.app(p);
                                    return <AppIcon key={p} label={app?.label ?? p} theme={app?.theme} size="small" />;
                                })}
                            </div>
                            <div class="scenario-info">
                                <h2 class="scenario-name">
                                    <a href={`/scenarios/${s.id}`} onClick={linkClick}>
                                        {s.name}
                                    </a>
                                </h2>
                                <div class="muted small">
                                    {s.trigger === 'gateway:CustomWebHook' || s.hookUrl ? 'Immediately as data arrives' : describeSchedule(s.scheduling)} · Last
                                    edit {formatDate(s.lastEdit)}
                                </div>
                                {s.isinvalid && s.invalidReason && <p class="status-message">{s.invalidReason}</p>}
                                {rowError?.id === s.id && <ErrorMessage error={rowError.error} />}
                            </div>
                            <div class="scenario-actions">
                                <a href={`/scenarios/${s.id}/history`} class="button button-ghost" onClick={linkClick}>
                                    History
                                </a>
                                <Toggle
                                    checked={s.isActive}
                                    label={`Scheduling of ${s.name}`}
                                    disabled={!editor}
                                    onChange={(on) => void toggle(s, on)}
                                />
                            </div>
                        </li>
                    ))}
                </ul>
            )}
        </div>
    );
}

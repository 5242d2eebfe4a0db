// Execution history of one scenario: every run with its status, operations and error type; a run's detail
// shows each module's input and output. AccountValidationError links to the connection that caused it.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { loadCatalog } from '../catalog';
import { ModuleRunDetails, runsByModule } from '../outputs';
import { linkClick, navigate } from '../router';
import type { Blueprint, Execution, Scenario } from '../types';
import { EmptyState, ErrorMessage, ExecutionStatusBadge, formatDate, PageHeader, Spinner } from '../ui';
import { allModules } from './builder';

function moduleName(id: string): string {
    const catalog = loadCatalog();
    const def = catalog.module(id);
    const app = catalog.appOfModule(id);
    return def ? `${app?.label ?? id.split(':')[0]} – ${def.label}` : id;
}

const triggerLabels: Record<string, string> = { schedule: 'Schedule', webhook: 'Webhook', run: 'Run once', retry: 'Retry' };

// The connection an AccountValidationError is about: the one the failing module used or is bound to, else
// the id the message names ("connection 'Acme' (12) …").
export function connectionOfError(e: Execution, blueprint: Blueprint | null): number | null {
    if (!e.error) return null;
    const moduleId = e.error.moduleId;
    if (moduleId !== null) {
        const used = e.connections?.find((c) => c.moduleId === moduleId);
        if (used) return used.connectionId;
        const m = blueprint ? allModules(blueprint.flow).find((x) => x.id === moduleId) : undefined;
        const ref = m?.parameters?.__IMTCONN__;
        if (typeof ref === 'number') return ref;
        if (typeof ref === 'string' && /^\d+$/.test(ref)) return Number(ref);
    }
    const named = /connection\s+(?:'[^']*'\s+)?\((\d+)\)/.exec(e.error.message) ?? /connection\s+(\d+)/.exec(e.error.message);
    return named ? Number(named[1]) : null;
}

function ErrorCell(props: { execution: Execution; blueprint: Blueprint | null }) {
    const e = props.execution;
    if (!e.error) return <span class="muted">—</span>;
    const conn = e.error.type === 'AccountValidationError' ? connectionOfError(e, props.blueprint) : null;
    return (
        <div class="exec-error-cell">
            <span class="error-type">{e.error.type}</span>
            {e.error.moduleId !== null && <span class="muted small"> in module {e.error.moduleId}</span>}
            <div class="small error-text">{e.error.message}</div>
            {conn !== null && (
                <a class="small" href={`/connections?connection=${conn}`} onClick={linkClick}>
                    Open the connection
                </a>
            )}
        </div>
    );
}

export function HistoryPage(props: { scenarioId: number; executionId?: number }) {
    const [scenario, setScenario] = useState<Scenario | null>(null);
    const [blueprint, setBlueprint] = useState<Blueprint | null>(null);
    const [logs, setLogs] = useState<Execution[] | null>(null);
    const [error, setError] = useState<unknown>(null);
    const [detail, setDetail] = useState<Execution | null>(null);
    const [detailError, setDetailError] = useState<unknown>(null);

    const load = () => {
        setError(null);
        api.scenario(props.scenarioId).then(setScenario, setError);
        api.blueprint(props.scenarioId).then((b) => setBlueprint(b.blueprint), () => undefined);
        api.logs(props.scenarioId).then(setLogs, setError);
    };
    useEffect(load, [props.scenarioId]);
    useEffect(() => {
        setDetail(null);
        setDetailError(null);
        if (props.executionId === undefined) return;
        api.execution(props.scenarioId, props.executionId).then(setDetail, setDetailError);
    }, [props.scenarioId, props.executionId]);

    const base = `/scenarios/${props.scenarioId}`;
    return (
        <div class="page">
            <a href={base} class="back-link" onClick={linkClick}>
                ← {scenario?.name ?? 'Scenario'}
            </a>
            <PageHeader title="Execution history" subtitle={scenario?.name}>
                <button type="button" class="button" onClick={load}>
                    Refresh
                </button>
            </PageHeader>
            <ErrorMessage error={error} />
            {logs === null && error === null && <Spinner label="Loading executions" />}
            {logs !== null && logs.length === 0 && (
                <EmptyState
                    title="No executions yet"
                    action={
                        <a class="button" href={base} onClick={linkClick}>
                            Open the scenario
                        </a>
                    }
                >
                    Runs appear here once the scenario runs: by its schedule, by its webhook or by Run once.
                </EmptyState>
            )}
            {logs !== null && logs.length > 0 && (
                <div class="table-wrap">
                    <table class="table">
                        <caption class="visually-hidden">Executions of {scenario?.name ?? 'the scenario'}, newest first</caption>
                        <thead>
                            <tr>
                                <th scope="col">Started</th>
                                <th scope="col">Status</th>
                                <th scope="col">Started by</th>
                                <th scope="col">Duration</th>
                                <th scope="col">Operations</th>
                                <th scope="col">Error</th>
                                <th scope="col">
                                    <span class="visually-hidden">Details</span>
                                </th>
                            </tr>
                        </thead>
                        <tbody>
                            {logs.map((e) => (
                                <tr key={e.id} class={props.executionId === e.id ? 'selected' : undefined}>
                                    <td class="nowrap">{formatDate(e.started ?? e.created)}</td>
                                    <td>
                                        <ExecutionStatusBadge status={e.status} />
                                    </td>
                                    <td>{triggerLabels[e.trigger] ?? e.trigger}</td>
                                    <td>{e.duration !== null && e.duration !== undefined ? `${e.duration} ms` : '—'}</td>
                                    <td>{e.operations}</td>
                                    <td>
                                        <ErrorCell execution={e} blueprint={blueprint} />
                                    </td>
                                    <td>
                                        <a href={`${base}/history?execution=${e.id}`} onClick={linkClick} aria-label={`Details of execution ${e.id}`}>
                                            Details
                                        </a>
                                    </td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                </div>
            )}
            {props.executionId !== undefined && (
                <section class="execution-detail" aria-labelledby="execution-detail-title">
                    <div class="section-header">
                        <h2 id="execution-detail-title">Execution {props.executionId}</h2>
                        <button type="button" class="button button-small" onClick={() => navigate(`${base}/history`)}>
                            Close details
                        </button>
                    </div>
                    <ErrorMessage error={detailError} />
                    {!detail && !detailError && <Spinner label="Loading the execution" />}
                    {detail && (
                        <>
                            <p>
                                <ExecutionStatusBadge status={detail.status} /> {detail.operations} operation{detail.operations === 1 ? '' : 's'} ·{' '}
                                {triggerLabels[detail.trigger] ?? detail.trigger} · {formatDate(detail.started ?? detail.created)}
                            </p>
                            {detail.error && <ErrorCell execution={detail} blueprint={blueprint} />}
                            {[...runsByModule(detail).values()].map((r) => (
                                <details class="module-run" key={r.moduleId} open>
                                    <summary>
                                        {r.moduleId}. {moduleName(r.module)} · {r.operations} operation{r.operations === 1 ? '' : 's'}
                                        {r.error && <span class="error-type"> · {r.error.type}</span>}
                                    </summary>
                                    <ModuleRunDetails run={r} />
                                </details>
                            ))}
                            {(detail.modules ?? []).length === 0 && <p class="muted">No module ran in this execution.</p>}
                        </>
                    )}
                </section>
            )}
        </div>
    );
}

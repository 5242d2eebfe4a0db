// The scenario builder: the modules in order with their numbers, "+" to add one (apps → modules → form),
// module settings with connections and mapping, Run once with each module's output, scheduling, and Save
// (PATCH /scenarios/{id} with the blueprint in Make's format).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { loadCatalog, type AppDef, type ModuleDef, type Param } from '../catalog';
import { CreateConnectionDialog } from '../connectionDialogs';
import { ParamField, validateParams, type PickerItem, type Values } from '../fields';
import { ModuleRunDetails, runsByModule, bundlesOf, type ModuleRun } from '../outputs';
import { linkClick, navigate } from '../router';
import { canEdit, canRun, useSession } from '../session';
import type { Blueprint, BlueprintModule, Connection, DynamicConnection, Execution, Scenario, ScenarioInput, Scheduling } from '../types';
import { AppIcon, Dialog, ErrorMessage, ExecutionStatusBadge, Notice, PlusIcon, Spinner, Toggle } from '../ui';
import { ScheduleDialog, SettingsDialog, describeSchedule } from './schedule';

const emptyBlueprint = (): Blueprint => ({
    name: 'New scenario',
    flow: [],
    metadata: { instant: false, version: 1, scenario: { maxErrors: 3, sequential: false, confidential: false, dlq: false, roundtrips: 1, autoCommit: true } },
});

// Every module of a blueprint, depth first (routes and error handlers included).
export function allModules(flow: BlueprintModule[]): BlueprintModule[] {
    const out: BlueprintModule[] = [];
    const walk = (list: BlueprintModule[]) => {
        for (const m of list) {
            out.push(m);
            m.routes?.forEach((r) => walk(r.flow ?? []));
            if (m.onerror) walk(m.onerror);
        }
    };
    walk(flow);
    return out;
}

// The modules whose output a module can map: those before it on its path through the flow.
function modulesBefore(flow: BlueprintModule[], id: number): BlueprintModule[] {
    const search = (list: BlueprintModule[], before: BlueprintModule[]): BlueprintModule[] | null => {
        const seen = [...before];
        for (const m of list) {
            if (m.id === id) return seen;
            for (const r of m.routes ?? []) {
                const found = search(r.flow ?? [], [...seen, m]);
                if (found) return found;
            }
            if (m.onerror) {
                const found = search(m.onerror, [...seen, m]);
                if (found) return found;
            }
            seen.push(m);
        }
        return null;
    };
    return (search(flow, []) ?? []).filter((m) => !m.module.startsWith('builtin:') || m.module === 'builtin:BasicFeeder' || m.module === 'builtin:BasicAggregator');
}

function moduleTitle(m: BlueprintModule): { app: string; label: string; theme: string; def?: ModuleDef } {
    const catalog = loadCatalog();
    const def = catalog.module(m.module);
    const app = catalog.appOfModule(m.module);
    return { app: app?.label ?? m.module.split(':')[0] ?? m.module, label: def?.label ?? m.module, theme: app?.theme ?? '#5b6b7b', def };
}

function nextId(flow: BlueprintModule[]): number {
    return allModules(flow).reduce((max, m) => Math.max(max, m.id), 0) + 1;
}

// The outputs of earlier modules for the {{…}} picker: the module's declared interface and, after a run, the
// fields of its first bundle (two levels deep), with a sample value.
function pickerItems(flow: BlueprintModule[], moduleId: number, runs: Map<number, ModuleRun>): PickerItem[] {
    const items: PickerItem[] = [];
    for (const m of modulesBefore(flow, moduleId)) {
        const t = moduleTitle(m);
        const moduleLabel = `${t.app} – ${t.label}`;
        const seen = new Set<string>();
        const add = (path: string, label: string, sample?: unknown) => {
            if (seen.has(path)) return;
            seen.add(path);
            const s = sample === undefined ? undefined : typeof sample === 'string' ? sample : JSON.stringify(sample);
            items.push({ moduleId: m.id, moduleLabel, path, label, sample: s && s.length > 60 ? `${s.slice(0, 57)}…` : s });
        };
        const run = runs.get(m.id);
        const first = run ? run.entries.flatMap(bundlesOf)[0] : undefined;
        for (const f of t.def?.interface ?? []) add(f.name, f.label ?? f.name, (first as Record<string, unknown> | undefined)?.[f.name]);
        if (first && typeof first === 'object' && !Array.isArray(first)) {
            for (const [k, v] of Object.entries(first as Record<string, unknown>)) {
                add(k, k, v);
                if (v && typeof v === 'object' && !Array.isArray(v)) {
                    for (const [k2, v2] of Object.entries(v as Record<string, unknown>).slice(0, 30)) add(`${k}.${k2}`, `${k} → ${k2}`, v2);
                }
            }
        }
    }
    return items;
}

type ConnRef = number | { dynamic: number; input?: string } | null;

function parseConn(v: unknown): ConnRef {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
        if (v.startsWith('dynamic:')) return { dynamic: Number(v.slice(8)) };
        const n = Number(v);
        return Number.isFinite(n) && n > 0 ? n : null;
    }
    if (typeof v === 'object' && v && 'dynamic' in v) {
        const d = v as { dynamic: unknown; input?: unknown };
        return { dynamic: Number(d.dynamic), input: typeof d.input === 'string' && d.input ? d.input : undefined };
    }
    return null;
}

export function ScenarioBuilder(props: { scenarioId: number | null }) {
    const { team } = useSession();
    const editor = canEdit(team.role);
    const [scenario, setScenario] = useState<Scenario | null>(null);
    const [blueprint, setBlueprint] = useState<Blueprint | null>(props.scenarioId === null ? emptyBlueprint() : null);
    const [scheduling, setScheduling] = useState<Scheduling>({ type: 'on-demand' });
    const [inputs, setInputs] = useState<ScenarioInput[]>([]);
    const [name, setName] = useState('New scenario');
    const [dirty, setDirty] = useState(false);
    const [loadError, setLoadError] = useState<unknown>(null);
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState<'' | 'saving' | 'running' | 'toggling'>('');
    const [message, setMessage] = useState('');
    const [connections, setConnections] = useState<Connection[]>([]);
    const [dynamics, setDynamics] = useState<DynamicConnection[]>([]);
    const [adding, setAdding] = useState(false);
    const [editingId, setEditingId] = useState<number | null>(null);
    const [outputOf, setOutputOf] = useState<number | null>(null);
    const [lastRun, setLastRun] = useState<Execution | null>(null);
    const [dialog, setDialog] = useState<'' | 'schedule' | 'settings'>('');

    useEffect(() => {
        api.connections(team.id).then(setConnections, () => undefined);
        api.dynamicConnections(team.id).then(setDynamics, () => undefined);
    }, [team.id]);

    useEffect(() => {
        // Saving a new scenario moves to /scenarios/{id}: the builder keeps its state.
        if (props.scenarioId !== null && scenario?.id === props.scenarioId) return;
        setLastRun(null);
        setDirty(false);
        setMessage('');
        setError(null);
        setEditingId(null);
        if (props.scenarioId === null) {
            setScenario(null);
            setBlueprint(emptyBlueprint());
            setScheduling({ type: 'on-demand' });
            setInputs([]);
            setName('New scenario');
            return;
        }
        setBlueprint(null);
        const id = props.scenarioId;
        Promise.all([api.scenario(id), api.blueprint(id)]).then(
            ([s, bp]) => {
                setScenario(s);
                setBlueprint(bp.blueprint);
                setScheduling(bp.scheduling ?? s.scheduling);
                setInputs(bp.interface?.input ?? s.interface?.input ?? []);
                setName(s.name);
            },
            setLoadError,
        );
    }, [props.scenarioId]);

    // Leaving with unsaved changes asks first.
    useEffect(() => {
        if (!dirty) return;
        const onBefore = (e: BeforeUnloadEvent) => {
            e.preventDefault();
        };
        window.addEventListener('beforeunload', onBefore);
        return () => window.removeEventListener('beforeunload', onBefore);
    }, [dirty]);

    const runs = useMemo(() => runsByModule(lastRun), [lastRun]);

    if (loadError) {
        return (
            <div class="page">
                <ErrorMessage error={loadError} title="The scenario could not be loaded." />
                <a class="button" href="/scenarios" onClick={linkClick}>
                    Back to Scenarios
                </a>
            </div>
        );
    }
    if (!blueprint) return <Spinner label="Loading the scenario" />;

    const change = (bp: Blueprint) => {
        setBlueprint(bp);
        setDirty(true);
        setMessage('');
    };
    const flow = blueprint.flow;
    const modules = allModules(flow);
    const instant = flow.length > 0 && (flow[0]!.module === 'gateway:CustomWebHook' || loadCatalog().module(flow[0]!.module)?.type === 'instant');

    const save = async (): Promise<Scenario | null> => {
        setError(null);
        if (flow.length === 0) {
            setError(new Error('Add a module before saving: a scenario needs at least one module.'));
            return null;
        }
        setBusy('saving');
        try {
            const body = {
                name: name.trim() || 'Untitled scenario',
                blueprint: { ...blueprint, name: name.trim() || 'Untitled scenario' },
                scheduling: instant ? { type: 'immediately' } : scheduling,
                interface: { input: inputs },
            };
            const s = scenario ? await api.updateScenario(scenario.id, body) : await api.createScenario(team.id, body);
            setScenario(s);
            setScheduling(s.scheduling);
            setDirty(false);
            setMessage('Saved.');
            if (!scenario) navigate(`/scenarios/${s.id}`, { replace: true });
            return s;
        } catch (e) {
            setError(e);
            return null;
        } finally {
            setBusy('');
        }
    };

    const runOnce = async () => {
        setError(null);
        setMessage('');
        let s = scenario;
        if (!s || dirty) {
            if (!editor) return;
            s = await save();
            if (!s) return;
        }
        setBusy('running');
        try {
            const r = await api.runScenario(s.id);
            let e = r.execution;
            setLastRun(e);
            // The answer is normally the finished run; one still queued or running is followed until it ends.
            const deadline = Date.now() + 5 * 60 * 1000;
            while ((e.status === 'queued' || e.status === 'running') && Date.now() < deadline) {
                await new Promise((resolve) => window.setTimeout(resolve, 700));
                e = await api.execution(s.id, e.id);
                setLastRun(e);
            }
            setMessage('');
        } catch (e) {
            setError(e);
        } finally {
            setBusy('');
        }
    };

    const toggle = async (on: boolean) => {
        setError(null);
        let s = scenario;
        if (!s || dirty) {
            s = await save();
            if (!s) return;
        }
        setBusy('toggling');
        try {
            setScenario(on ? await api.startScenario(s.id) : await api.stopScenario(s.id));
        } catch (e) {
            setError(e);
        } finally {
            setBusy('');
        }
    };

    const addModule = (def: ModuleDef) => {
        const id = nextId(flow);
        const m: BlueprintModule = {
            id,
            module: def.id,
            version: 1,
            parameters: {},
            mapper: {},
            metadata: { designer: { x: flow.length * 300, y: 0 } },
        };
        for (const p of def.parameters) if (p.default !== undefined) (m.parameters as Values)[p.name] = p.default;
        for (const p of def.expect) if (p.default !== undefined) (m.mapper as Values)[p.name] = p.default;
        const nextFlow = [...flow, m];
        change({ ...blueprint, flow: nextFlow, metadata: { ...blueprint.metadata, instant: def.type === 'instant' && flow.length === 0 ? true : blueprint.metadata?.instant } });
        setAdding(false);
        setEditingId(id);
    };

    const replaceModule = (updated: BlueprintModule) => {
        const walk = (list: BlueprintModule[]): BlueprintModule[] =>
            list.map((m) =>
                m.id === updated.id
                    ? updated
                    : {
                          ...m,
                          ...(m.routes ? { routes: m.routes.map((r) => ({ ...r, flow: walk(r.flow ?? []) })) } : {}),
                          ...(m.onerror ? { onerror: walk(m.onerror) } : {}),
                      },
            );
        change({ ...blueprint, flow: walk(flow) });
    };

    const removeModule = (id: number) => {
        const walk = (list: BlueprintModule[]): BlueprintModule[] =>
            list
                .filter((m) => m.id !== id)
                .map((m) => ({
                    ...m,
                    ...(m.routes ? { routes: m.routes.map((r) => ({ ...r, flow: walk(r.flow ?? []) })) } : {}),
                    ...(m.onerror ? { onerror: walk(m.onerror) } : {}),
                }));
        change({ ...blueprint, flow: walk(flow) });
        setEditingId(null);
    };

    const editingModule = editingId !== null ? modules.find((m) => m.id === editingId) : undefined;
    const outputRun = outputOf !== null ? runs.get(outputOf) : undefined;
    const outputModule = outputOf !== null ? modules.find((m) => m.id === outputOf) : undefined;

    return (
        <div class="builder">
            <div class="builder-header">
                <a href="/scenarios" class="back-link" onClick={linkClick}>
                    ← Scenarios
                </a>
                <div class="builder-title">
                    <label for="scenario-name" class="visually-hidden">
                        Scenario name
                    </label>
                    <input
                        id="scenario-name"
                        class="title-input"
                        size={Math.max(12, name.length + 1)}
                        value={name}
                        disabled={!editor}
                        onInput={(e) => {
                            setName(e.currentTarget.value);
                            setDirty(true);
                        }}
                    />
                    {dirty && <span class="badge badge-unsaved">Unsaved changes</span>}
                    {scenario?.isinvalid && <span class="badge badge-failed">Turned off after errors</span>}
                </div>
                <div class="builder-links">
                    {scenario && (
                        <a href={`/scenarios/${scenario.id}/history`} onClick={linkClick} class="button button-ghost">
                            History
                        </a>
                    )}
                </div>
            </div>
            {scenario?.isinvalid && scenario.invalidReason && <Notice kind="warning">{scenario.invalidReason}</Notice>}

            <section class="canvas" aria-label="Modules">
                {flow.length === 0 && (
                    <div class="canvas-empty">
                        <p>
                            <strong>Start with a trigger or an action.</strong> Click + to choose an app and one of its modules.
                        </p>
                    </div>
                )}
                <ol class="flow">
                    {flow.map((m, i) => (
                        <FlowNode
                            key={m.id}
                            module={m}
                            index={i}
                            runs={runs}
                            onOpen={(id) => setEditingId(id)}
                            onOutput={(id) => setOutputOf(id)}
                        />
                    ))}
                    {editor && (
                        <li class="flow-item flow-add">
                            {flow.length > 0 && <span class="connector" aria-hidden="true" />}
                            <button type="button" class="add-module" onClick={() => setAdding(true)} aria-label="Add a module">
                                <PlusIcon />
                            </button>
                            <span class="node-caption muted">{flow.length === 0 ? 'Add the first module' : 'Add another module'}</span>
                        </li>
                    )}
                </ol>
            </section>

            <div class="builder-bar" role="toolbar" aria-label="Scenario">
                {canRun(team.role) && (
                    <button type="button" class="button button-primary run-once" onClick={runOnce} disabled={busy !== '' || flow.length === 0}>
                        {busy === 'running' ? (
                            <>
                                <Spinner /> Running…
                            </>
                        ) : (
                            'Run once'
                        )}
                    </button>
                )}
                <div class="schedule-box">
                    <Toggle
                        id="scheduling-toggle"
                        checked={Boolean(scenario?.isActive)}
                        label="Scheduling"
                        disabled={!editor || busy !== '' || flow.length === 0}
                        onChange={toggle}
                    />
                    <div class="schedule-text">
                        <span class="schedule-label">Scheduling</span>
                        <button type="button" class="link-button" onClick={() => setDialog('schedule')} disabled={!editor}>
                            {instant ? 'Immediately as data arrives' : describeSchedule(scheduling)}
                        </button>
                    </div>
                </div>
                <button type="button" class="button" onClick={() => setDialog('settings')} disabled={!editor}>
                    Scenario settings
                </button>
                {editor && (
                    <button type="button" class="button" onClick={save} disabled={busy !== '' || (!dirty && scenario !== null)}>
                        {busy === 'saving' ? 'Saving…' : 'Save'}
                    </button>
                )}
                <span class="bar-status" role="status">
                    {message}
                </span>
            </div>
            <ErrorMessage error={error} />
            {scenario?.hookUrl && (
                <p class="hook-url">
                    Webhook URL: <code>{scenario.hookUrl}</code>
                </p>
            )}
            {lastRun && <RunSummary execution={lastRun} onShow={(id) => setOutputOf(id)} />}

            {adding && <AddModuleDialog first={flow.length === 0} onClose={() => setAdding(false)} onChoose={addModule} />}
            {editingModule && (
                <ModuleDialog
                    key={editingModule.id}
                    module={editingModule}
                    flow={flow}
                    runs={runs}
                    inputs={inputs}
                    connections={connections}
                    dynamics={dynamics}
                    readOnly={!editor}
                    onConnectionCreated={(c) => setConnections((l) => [...l.filter((x) => x.id !== c.id), c])}
                    onClose={() => setEditingId(null)}
                    onSave={(m) => {
                        replaceModule(m);
                        setEditingId(null);
                    }}
                    onDelete={() => removeModule(editingModule.id)}
                />
            )}
            {outputModule && (
                <Dialog title={`${outputModule.id}. ${moduleTitle(outputModule).app} – ${moduleTitle(outputModule).label}`} wide onClose={() => setOutputOf(null)}>
                    {outputRun ? <ModuleRunDetails run={outputRun} /> : <p class="muted">This module did not run in the last run.</p>}
                </Dialog>
            )}
            {dialog === 'schedule' && (
                <ScheduleDialog
                    scheduling={scheduling}
                    instant={instant}
                    hookUrl={scenario?.hookUrl ?? null}
                    onClose={() => setDialog('')}
                    onSave={(s) => {
                        setScheduling(s);
                        setDirty(true);
                        setDialog('');
                    }}
                />
            )}
            {dialog === 'settings' && (
                <SettingsDialog
                    blueprint={blueprint}
                    inputs={inputs}
                    onClose={() => setDialog('')}
                    onSave={(bp, ins) => {
                        change(bp);
                        setInputs(ins);
                        setDialog('');
                    }}
                />
            )}
        </div>
    );
}

function FlowNode(props: {
    module: BlueprintModule;
    index: number;
    runs: Map<number, ModuleRun>;
    onOpen: (id: number) => void;
    onOutput: (id: number) => void;
}) {
    const m = props.module;
    const t = moduleTitle(m);
    const run = props.runs.get(m.id);
    const unknown = !t.def;
    return (
        <li class="flow-item">
            {props.index > 0 && <span class="connector" aria-hidden="true" />}
            <div class="node">
                <button
                    type="button"
                    class={`node-button${run?.error ? ' node-error' : ''}`}
                    style={{ '--node-color': t.theme }}
                    onClick={() => props.onOpen(m.id)}
                    aria-label={`Module ${m.id}: ${t.app} – ${t.label}. Open its settings`}
                >
                    <AppIcon label={t.app} theme={t.theme} size="large" />
                    <span class="module-number" aria-hidden="true">
                        {m.id}
                    </span>
                </button>
                {run && (
                    <button
                        type="button"
                        class={`bubble${run.error ? ' bubble-error' : ''}`}
                        onClick={() => props.onOutput(m.id)}
                        aria-label={`Module ${m.id}: ${run.operations} operation${run.operations === 1 ? '' : 's'}${run.error ? ', failed' : ''}. Show the output`}
                    >
                        {run.operations}
                    </button>
                )}
            </div>
            <span class="node-caption">
                <span class="node-app">{t.app}</span>
                <span class="node-module">{t.label}</span>
                {unknown && <span class="muted small">Not in this catalog</span>}
            </span>
            {m.routes && m.routes.length > 0 && (
                <div class="routes" aria-label={`Routes of module ${m.id}`}>
                    {m.routes.map((r, i) => (
                        <div class="route" key={i}>
                            <span class="route-label">Route {i + 1}</span>
                            <ol class="flow flow-nested">
                                {(r.flow ?? []).map((sub, j) => (
                                    <FlowNode key={sub.id} module={sub} index={j} runs={props.runs} onOpen={props.onOpen} onOutput={props.onOutput} />
                                ))}
                            </ol>
                        </div>
                    ))}
                </div>
            )}
        </li>
    );
}

function RunSummary(props: { execution: Execution; onShow: (id: number) => void }) {
    const e = props.execution;
    const runs = runsByModule(e);
    return (
        <section class="run-summary" aria-label="Result of Run once">
            <h2>
                Run once: <ExecutionStatusBadge status={e.status} />{' '}
                <span class="muted small">
                    {e.operations} operation{e.operations === 1 ? '' : 's'}
                    {e.duration !== null && e.duration !== undefined ? ` · ${e.duration} ms` : ''}
                </span>
            </h2>
            {e.error && (
                <p class="exec-error">
                    <strong>{e.error.type}</strong>
                    {e.error.moduleId !== null && ` in module ${e.error.moduleId}`}: {e.error.message}
                </p>
            )}
            <ul class="run-modules">
                {[...runs.values()].map((r) => {
                    const t = moduleTitle({ id: r.moduleId, module: r.module });
                    const bundles = r.entries.flatMap(bundlesOf).length;
                    return (
                        <li key={r.moduleId}>
                            <button type="button" class="link-button" onClick={() => props.onShow(r.moduleId)}>
                                {r.moduleId}. {t.app} – {t.label}
                            </button>{' '}
                            <span class="muted small">
                                {r.operations} operation{r.operations === 1 ? '' : 's'}, {bundles} bundle{bundles === 1 ? '' : 's'}
                                {r.error ? ` · ${r.error.type}` : ''}
                            </span>
                        </li>
                    );
                })}
            </ul>
        </section>
    );
}

// "+": search the catalog's apps, then choose one of the app's modules.
function AddModuleDialog(props: { first: boolean; onClose: () => void; onChoose: (m: ModuleDef) => void }) {
    const catalog = loadCatalog();
    const [q, setQ] = useState('');
    const [app, setApp] = useState<AppDef | null>(null);
    const query = q.trim().toLowerCase();
    const usable = (m: ModuleDef) => m.pickable && (props.first || (m.type !== 'trigger' && m.type !== 'instant'));
    const apps = catalog.apps.filter((a) => a.modules.some(usable));
    const shownApps = apps.filter(
        (a) => `${a.label} ${a.description}`.toLowerCase().includes(query) || a.modules.some((m) => usable(m) && m.label.toLowerCase().includes(query)),
    );
    const typeLabel: Record<string, string> = { trigger: 'Trigger', instant: 'Instant trigger', action: 'Action', search: 'Search', universal: 'Universal' };
    return (
        <Dialog title={app ? app.label : 'Add a module'} onClose={props.onClose} initialFocus={app ? '.choice' : '#module-search'}>
            {!app && (
                <>
                    <label for="module-search" class="field-label">
                        Search apps
                    </label>
                    <input id="module-search" type="search" placeholder="Search apps and modules" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
                    <ul class="choice-list" aria-label="Apps">
                        {shownApps.map((a) => (
                            <li key={a.name}>
                                <button type="button" class="choice" onClick={() => setApp(a)}>
                                    <AppIcon label={a.label} theme={a.theme} />
                                    <span class="choice-text">
                                        <span class="choice-title">{a.label}</span>
                                        <span class="choice-sub">{a.description}</span>
                                    </span>
                                </button>
                            </li>
                        ))}
                        {shownApps.length === 0 && <li class="muted">No app matches “{q}”.</li>}
                    </ul>
                </>
            )}
            {app && (
                <>
                    <button type="button" class="link-button back-button" onClick={() => setApp(null)}>
                        ← All apps
                    </button>
                    <ul class="choice-list" aria-label={`Modules of ${app.label}`}>
                        {app.modules.filter(usable).map((m) => (
                            <li key={m.id}>
                                <button type="button" class="choice" onClick={() => props.onChoose(m)}>
                                    <AppIcon label={app.label} theme={app.theme} size="small" />
                                    <span class="choice-text">
                                        <span class="choice-title">{m.label}</span>
                                        <span class="choice-sub">
                                            <span class="module-type">{typeLabel[m.type] ?? m.type}</span> {m.description}
                                        </span>
                                    </span>
                                </button>
                            </li>
                        ))}
                    </ul>
                    {!props.first && app.modules.some((m) => m.pickable && (m.type === 'trigger' || m.type === 'instant')) && (
                        <p class="muted small">Triggers can only be the first module.</p>
                    )}
                </>
            )}
        </Dialog>
    );
}

// The settings of one module: its connection, static fields and mappable fields.
function ModuleDialog(props: {
    module: BlueprintModule;
    flow: BlueprintModule[];
    runs: Map<number, ModuleRun>;
    inputs: ScenarioInput[];
    connections: Connection[];
    dynamics: DynamicConnection[];
    readOnly: boolean;
    onConnectionCreated: (c: Connection) => void;
    onClose: () => void;
    onSave: (m: BlueprintModule) => void;
    onDelete: () => void;
}) {
    const catalog = loadCatalog();
    const t = moduleTitle(props.module);
    const def = t.def;
    const [parameters, setParameters] = useState<Values>({ ...(props.module.parameters ?? {}) });
    const [mapper, setMapper] = useState<Values>({ ...(props.module.mapper ?? {}) });
    const [errors, setErrors] = useState<Record<string, string>>({});
    const [advanced, setAdvanced] = useState(false);
    const [creating, setCreating] = useState(false);
    const [confirmDelete, setConfirmDelete] = useState(false);
    const picker = useMemo(() => pickerItems(props.flow, props.module.id, props.runs), [props.flow, props.runs]);
    const idPrefix = `module-${props.module.id}`;

    const types = (def?.connectionTypes ?? []).map((n) => catalog.connectionType(n)).filter((x): x is NonNullable<typeof x> => Boolean(x));
    const typeNames = new Set(def?.connectionTypes ?? []);
    const conns = props.connections.filter((c) => typeNames.has(c.accountName));
    const dyns = props.dynamics.filter((d) => typeNames.has(d.connectionType));
    const conn = parseConn(parameters.__IMTCONN__);
    const chosen = typeof conn === 'number' ? props.connections.find((c) => c.id === conn) : undefined;
    const missingScopes = chosen && def ? def.scope.filter((s) => !chosen.scopes.includes(s)) : [];

    const clearError = (key: string) =>
        setErrors((e) => {
            if (!(key in e)) return e;
            const next = { ...e };
            delete next[key];
            return next;
        });

    const setConn = (ref: ConnRef) => {
        clearError('__conn');
        const next = { ...parameters };
        if (ref === null) delete next.__IMTCONN__;
        else next.__IMTCONN__ = ref;
        setParameters(next);
    };

    const earlier = modulesBefore(props.flow, props.module.id).map((m) => ({ id: m.id, label: `${m.id}. ${moduleTitle(m).app} – ${moduleTitle(m).label}` }));

    const ok = (e?: Event) => {
        e?.preventDefault();
        if (!def) {
            props.onClose();
            return;
        }
        const errs: Record<string, string> = {
            ...prefixed('p', validateParams(def.parameters, parameters)),
            ...prefixed('m', validateParams(def.expect.filter((p) => p.type !== 'keyvalues'), mapper)),
        };
        if (def.connectionRequired && conn === null) errs.__conn = 'Choose a connection, or create one.';
        setErrors(errs);
        if (Object.keys(errs).length) {
            if (Object.keys(errs).some((k) => def.expect.concat(def.parameters).find((p) => p.advanced && (k === `p:${p.name}` || k === `m:${p.name}`)))) setAdvanced(true);
            const k = Object.keys(errs)[0]!;
            window.setTimeout(() => document.getElementById(k === '__conn' ? `${idPrefix}-connection` : `${idPrefix}-${k.slice(2)}`)?.focus(), 0);
            return;
        }
        const clean = (v: Values) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
        props.onSave({ ...props.module, parameters: clean(parameters), mapper: clean(mapper) });
    };

    const renderParam = (p: Param, store: 'p' | 'm') => {
        const values = store === 'p' ? parameters : mapper;
        const set = store === 'p' ? setParameters : setMapper;
        if (p.type === 'keyvalues') return <KeyValuesField key={p.name} idPrefix={idPrefix} values={mapper} onChange={setMapper} picker={picker} />;
        return (
            <ParamField
                key={p.name}
                param={p}
                value={values[p.name]}
                idPrefix={idPrefix}
                error={errors[`${store}:${p.name}`]}
                picker={store === 'm' ? picker : undefined}
                moduleChoices={earlier}
                disabled={props.readOnly}
                onChange={(v) => {
                    set({ ...values, [p.name]: v });
                    clearError(`${store}:${p.name}`);
                }}
            />
        );
    };
    const all: Array<[Param, 'p' | 'm']> = def ? [...def.parameters.map((p) => [p, 'p'] as [Param, 'p']), ...def.expect.map((p) => [p, 'm'] as [Param, 'm'])] : [];
    const basic = all.filter(([p]) => !p.advanced);
    const adv = all.filter(([p]) => p.advanced);
    const connValue = conn === null ? '' : typeof conn === 'number' ? String(conn) : `dynamic:${conn.dynamic}`;

    return (
        <Dialog
            title={`${props.module.id}. ${t.app} – ${t.label}`}
            onClose={props.onClose}
            wide
            footer={
                <>
                    {!props.readOnly && (
                        <button
                            type="button"
                            class={`button ${confirmDelete ? 'button-danger' : 'button-ghost'} footer-left`}
                            onClick={() => (confirmDelete ? props.onDelete() : setConfirmDelete(true))}
                        >
                            {confirmDelete ? 'Click again to delete the module' : 'Delete module'}
                        </button>
                    )}
                    <button type="button" class="button" onClick={props.onClose}>
                        Cancel
                    </button>
                    {!props.readOnly && (
                        <button type="submit" form={`${idPrefix}-form`} class="button button-primary">
                            OK
                        </button>
                    )}
                </>
            }
        >
            <form id={`${idPrefix}-form`} class="form" onSubmit={ok} noValidate>
                {def?.description && <p class="muted">{def.description}</p>}
                {!def && (
                    <>
                        <Notice kind="warning">
                            This module ({props.module.module}) is not part of the catalog this page knows. Its settings are kept as they are.
                        </Notice>
                        <pre class="code-block">{JSON.stringify({ parameters: props.module.parameters, mapper: props.module.mapper }, null, 2)}</pre>
                    </>
                )}
                {def && def.connectionTypes.length > 0 && (
                    <div class="field connection-field">
                        <label for={`${idPrefix}-connection`} class={`field-label${def.connectionRequired ? ' is-required' : ''}`}>
                            Connection
                        </label>
                        <div class="connection-row">
                            <select
                                id={`${idPrefix}-connection`}
                                value={connValue}
                                disabled={props.readOnly}
                                aria-invalid={errors.__conn ? true : undefined}
                                aria-describedby={errors.__conn ? `${idPrefix}-connection-error` : undefined}
                                onChange={(e) => {
                                    const v = e.currentTarget.value;
                                    setConn(v === '' ? null : v.startsWith('dynamic:') ? { dynamic: Number(v.slice(8)) } : Number(v));
                                }}
                            >
                                <option value="">{conns.length + dyns.length === 0 ? 'No connection yet' : 'Choose a connection'}</option>
                                {conns.length > 0 && (
                                    <optgroup label="Connections">
                                        {conns.map((c) => (
                                            <option key={c.id} value={String(c.id)}>
                                                {c.name}
                                                {c.metadata?.value ? ` (${c.metadata.value})` : ''}
                                                {c.status === 'failed' || c.status === 'needs_reauthorization' || c.status === 'broken' ? ' — needs attention' : ''}
                                            </option>
                                        ))}
                                    </optgroup>
                                )}
                                {dyns.length > 0 && (
                                    <optgroup label="Dynamic connections">
                                        {dyns.map((d) => (
                                            <option key={d.id} value={`dynamic:${d.id}`}>
                                                {d.name}
                                            </option>
                                        ))}
                                    </optgroup>
                                )}
                            </select>
                            {!props.readOnly && types.length > 0 && (
                                <button type="button" class="button" onClick={() => setCreating(true)}>
                                    Create a connection
                                </button>
                            )}
                        </div>
                        {errors.__conn && (
                            <p class="field-error" id={`${idPrefix}-connection-error`}>
                                {errors.__conn}
                            </p>
                        )}
                        {missingScopes.length > 0 && (
                            <p class="field-warning">
                                This connection lacks the scope{missingScopes.length === 1 ? '' : 's'} {missingScopes.join(', ')} that this module needs. Reauthorize it
                                on the Connections page with {missingScopes.length === 1 ? 'this scope' : 'these scopes'}.
                            </p>
                        )}
                        {conn !== null && typeof conn === 'object' && (
                            <div class="field">
                                <label for={`${idPrefix}-dynamic-input`} class="field-label">
                                    Choose the member by the scenario input
                                </label>
                                <select
                                    id={`${idPrefix}-dynamic-input`}
                                    value={conn.input ?? ''}
                                    onChange={(e) => setConn({ dynamic: conn.dynamic, input: e.currentTarget.value || undefined })}
                                >
                                    <option value="">None: always the default member</option>
                                    {props.inputs.map((i) => (
                                        <option key={i.name} value={i.name}>
                                            {i.label || i.name}
                                        </option>
                                    ))}
                                </select>
                                {props.inputs.length === 0 && <p class="help">Add scenario inputs in Scenario settings to choose a member per run.</p>}
                            </div>
                        )}
                    </div>
                )}
                {basic.map(([p, s]) => renderParam(p, s))}
                {adv.length > 0 && (
                    <div class="field field-checkbox advanced-toggle">
                        <input id={`${idPrefix}-advanced`} type="checkbox" checked={advanced} onChange={(e) => setAdvanced(e.currentTarget.checked)} />
                        <label for={`${idPrefix}-advanced`}>Show advanced settings</label>
                    </div>
                )}
                {advanced && adv.map(([p, s]) => renderParam(p, s))}
                {def && def.expect.length > 0 && (
                    <p class="help">
                        Fields accept <code>{'{{…}}'}</code>: use the <span aria-hidden="true">{'{ }'}</span> button next to a field to insert an earlier
                        module's output.
                    </p>
                )}
                {def && all.length === 0 && def.connectionTypes.length === 0 && <p class="muted">This module has no settings.</p>}
            </form>
            {creating && (
                <CreateConnectionDialog
                    types={types}
                    onClose={() => setCreating(false)}
                    onCreated={(c) => {
                        props.onConnectionCreated(c);
                        setConn(c.id);
                        setCreating(false);
                        window.setTimeout(() => document.getElementById(`${idPrefix}-connection`)?.focus(), 0);
                    }}
                />
            )}
        </Dialog>
    );
}

function prefixed(prefix: string, errs: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(errs).map(([k, v]) => [`${prefix}:${k}`, v]));
}

// Create JSON's fields: any names, each with a mappable value; stored as the mapper's own keys.
function KeyValuesField(props: { idPrefix: string; values: Values; onChange: (v: Values) => void; picker: PickerItem[] }) {
    const entries = Object.entries(props.values);
    const rename = (old: string, name: string) => {
        const next: Values = {};
        for (const [k, v] of entries) next[k === old ? name : k] = v;
        props.onChange(next);
    };
    return (
        <fieldset class="field field-array">
            <legend class="field-label">Fields</legend>
            {entries.length === 0 && <p class="muted small">No fields.</p>}
            {entries.map(([k, v], i) => (
                <div class="array-item" key={i}>
                    <div class="array-item-fields">
                        <ParamField
                            param={{ name: `key-${i}`, type: 'text', label: 'Name', required: true }}
                            idPrefix={props.idPrefix}
                            value={k}
                            onChange={(n) => rename(k, String(n ?? ''))}
                        />
                        <ParamField
                            param={{ name: `value-${i}`, type: 'text', label: 'Value' }}
                            idPrefix={props.idPrefix}
                            value={v}
                            picker={props.picker}
                            onChange={(x) => props.onChange({ ...props.values, [k]: x ?? '' })}
                        />
                    </div>
                    <button
                        type="button"
                        class="button button-small button-ghost"
                        onClick={() => props.onChange(Object.fromEntries(entries.filter(([kk]) => kk !== k)))}
                    >
                        Remove
                    </button>
                </div>
            ))}
            <button
                type="button"
                class="button button-small"
                onClick={() => {
                    let n = entries.length + 1;
                    while (`field${n}` in props.values) n += 1;
                    props.onChange({ ...props.values, [`field${n}`]: '' });
                }}
            >
                + Add item
            </button>
        </fieldset>
    );
}


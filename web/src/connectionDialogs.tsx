// "Create a connection", "Edit" and the consent steps shared by create, edit and reauthorize.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorText } from './api';
import { isOAuthKind, loadCatalog, type ConnectionTypeDef, type Param } from './catalog';
import { defaultsFor, isSecret, ParamField, validateParams, type Values } from './fields';
import { openConsentWindow } from './oauth';
import { useSession } from './session';
import type { Connection, EditableParameter, WouldBreak } from './types';
import { AppIcon, Dialog, ErrorMessage, Notice, Spinner } from './ui';

// Scope checkboxes: the type's default scopes are always granted; the others can be asked for.
function ScopePicker(props: {
    type: ConnectionTypeDef;
    granted: string[];
    chosen: string[];
    onChange: (scopes: string[]) => void;
    idPrefix: string;
}) {
    const known = Object.entries(props.type.scopes);
    const fixed = new Set([...props.type.scope, ...props.granted]);
    if (known.length === 0) return null;
    return (
        <fieldset class="field scope-list">
            <legend class="field-label">Scopes</legend>
            <p class="help">What Switchboard may do in your {loadCatalog().app(props.type.app)?.label ?? props.type.app} account.</p>
            {known.map(([name, description]) => {
                const id = `${props.idPrefix}-scope-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
                const always = fixed.has(name);
                return (
                    <div class="scope-item" key={name}>
                        <input
                            type="checkbox"
                            id={id}
                            checked={always || props.chosen.includes(name)}
                            disabled={always}
                            onChange={(e) =>
                                props.onChange(
                                    e.currentTarget.checked ? [...props.chosen, name] : props.chosen.filter((s) => s !== name),
                                )
                            }
                        />
                        <label for={id}>
                            <code>{name}</code> <span class="scope-description">{description}</span>
                            {always && <span class="muted small"> ({props.granted.includes(name) ? 'granted' : 'always asked for'})</span>}
                        </label>
                    </div>
                );
            })}
        </fieldset>
    );
}

function FieldList(props: {
    params: Param[];
    values: Values;
    errors: Record<string, string>;
    onChange: (name: string, v: unknown) => void;
    idPrefix: string;
    disabled?: (p: Param) => boolean;
    placeholder?: (p: Param) => string | undefined;
}) {
    const [advanced, setAdvanced] = useState(false);
    const basic = props.params.filter((p) => !p.advanced);
    const adv = props.params.filter((p) => p.advanced);
    const render = (p: Param) => (
        <ParamField
            key={p.name}
            param={p}
            value={props.values[p.name]}
            idPrefix={props.idPrefix}
            error={props.errors[p.name]}
            disabled={props.disabled?.(p)}
            placeholder={props.placeholder?.(p)}
            onChange={(v) => props.onChange(p.name, v)}
        />
    );
    return (
        <>
            {basic.map(render)}
            {adv.length > 0 && (
                <div class="field field-checkbox advanced-toggle">
                    <input
                        id={`${props.idPrefix}-advanced`}
                        type="checkbox"
                        checked={advanced || adv.some((p) => props.errors[p.name])}
                        onChange={(e) => setAdvanced(e.currentTarget.checked)}
                    />
                    <label for={`${props.idPrefix}-advanced`}>Show advanced settings</label>
                </div>
            )}
            {(advanced || adv.some((p) => props.errors[p.name])) && adv.map(render)}
        </>
    );
}

function WouldBreakList(props: { list: WouldBreak[] }) {
    return (
        <div class="warning-box" role="alert">
            <strong>These scenarios would lose scopes they need:</strong>
            <ul>
                {props.list.map((w) => (
                    <li key={w.scenarioId}>
                        <a href={`/scenarios/${w.scenarioId}`} target="_blank" rel="noopener">
                            {w.scenarioName}
                        </a>{' '}
                        — missing {w.missingScopes.map((s) => <code key={s}>{s}</code>)}
                    </li>
                ))}
            </ul>
        </div>
    );
}

type ConsentPhase =
    | { kind: 'idle' }
    | { kind: 'confirm'; authorizeUrl: string; wouldBreak: WouldBreak[]; extra: string[] }
    | { kind: 'waiting'; authorizeUrl: string }
    | { kind: 'failed'; message: string; authorizeUrl?: string };

// Runs the consent window for an authorize URL and reports the connection when the callback says it worked.
function useConsent(onDone: (connectionId: number) => void) {
    const [phase, setPhase] = useState<ConsentPhase>({ kind: 'idle' });
    const open = (authorizeUrl: string) => {
        setPhase({ kind: 'waiting', authorizeUrl });
        openConsentWindow(authorizeUrl).then(
            (result) => {
                if (result.ok) {
                    setPhase({ kind: 'idle' });
                    onDone(result.connectionId);
                } else {
                    setPhase({ kind: 'failed', message: result.message || 'Access was not granted.' });
                }
            },
            (e) => setPhase({ kind: 'failed', message: errorText(e), authorizeUrl }),
        );
    };
    return { phase, setPhase, open };
}

function ConsentStatus(props: { phase: ConsentPhase; onRetry: (url: string) => void }) {
    const p = props.phase;
    if (p.kind === 'waiting') {
        return (
            <Notice kind="info">
                <Spinner />
                <span>
                    A new window is open: sign in there and allow access. It closes itself when you are done.{' '}
                    <button type="button" class="link-button" onClick={() => props.onRetry(p.authorizeUrl)}>
                        Open the window again
                    </button>
                </span>
            </Notice>
        );
    }
    if (p.kind === 'failed') {
        return (
            <div>
                <ErrorMessage error={new Error(p.message)} />
                {p.authorizeUrl && (
                    <button type="button" class="button button-small" onClick={() => props.onRetry(p.authorizeUrl!)}>
                        Open the window again
                    </button>
                )}
            </div>
        );
    }
    return null;
}

// The "Create a connection" dialog for one or more connection types (the module's, or an app's).
export function CreateConnectionDialog(props: {
    types: ConnectionTypeDef[];
    onClose: () => void;
    onCreated: (c: Connection) => void;
}) {
    const { team } = useSession();
    const catalog = loadCatalog();
    const [typeName, setTypeName] = useState(props.types[0]?.name ?? '');
    const type = props.types.find((t) => t.name === typeName) ?? props.types[0];
    const app = type ? catalog.app(type.app) : undefined;
    const [name, setName] = useState(`My ${app?.label ?? 'new'} connection`);
    const [values, setValues] = useState<Values>(() => (type ? defaultsFor(type.parameters) : {}));
    const [scopes, setScopes] = useState<string[]>([]);
    const [errors, setErrors] = useState<Record<string, string>>({});
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);
    const consent = useConsent(async (id) => {
        try {
            props.onCreated(await api.connection(id));
        } catch (e) {
            setError(e);
        }
    });

    useEffect(() => {
        if (!type) return;
        setValues(defaultsFor(type.parameters));
        setScopes([]);
        setErrors({});
    }, [typeName]);

    if (!type) {
        return (
            <Dialog title="Create a connection" onClose={props.onClose}>
                <ErrorMessage error={new Error('This module does not take a connection type that Switchboard knows.')} />
            </Dialog>
        );
    }
    const oauth = isOAuthKind(type.kind);

    const save = async (e?: Event) => {
        e?.preventDefault();
        setError(null);
        const errs = validateParams(type.parameters, values);
        if (!name.trim()) errs.__name = 'Connection name is required.';
        setErrors(errs);
        if (Object.keys(errs).length) {
            const first = Object.keys(errs)[0]!;
            document.getElementById(first === '__name' ? 'create-conn-name' : `create-conn-${first}`)?.focus();
            return;
        }
        setBusy(true);
        try {
            const data: Values = {};
            for (const p of type.parameters) if (values[p.name] !== undefined) data[p.name] = values[p.name];
            const r = await api.createConnection(team.id, { name: name.trim(), type: type.name, scopes, data });
            // The server stores OAuth connections without the name given at creation (see web/README.md); name it.
            if (r.connection.name !== name.trim()) await api.renameConnection(r.connection.id, name.trim());
            if (r.authorizeUrl) consent.open(r.authorizeUrl);
            else props.onCreated(r.connection);
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };

    const waiting = consent.phase.kind === 'waiting';
    return (
        <Dialog
            title="Create a connection"
            onClose={props.onClose}
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Close
                    </button>
                    <button type="submit" form="create-conn-form" class="button button-primary" disabled={busy || waiting}>
                        {busy ? 'Saving…' : waiting ? 'Waiting for access…' : 'Save'}
                    </button>
                </>
            }
        >
            <form id="create-conn-form" class="form" onSubmit={save} noValidate>
                <div class="dialog-app">
                    <AppIcon label={app?.label ?? type.app} theme={app?.theme} />
                    <span>{app?.label ?? type.app}</span>
                </div>
                <div class="field">
                    <label for="create-conn-name" class="field-label is-required">
                        Connection name
                    </label>
                    <input
                        id="create-conn-name"
                        type="text"
                        required
                        value={name}
                        aria-invalid={errors.__name ? true : undefined}
                        onInput={(e) => {
                            setName(e.currentTarget.value);
                            setErrors(({ __name: _dropped, ...rest }) => rest);
                        }}
                    />
                    {errors.__name && <p class="field-error">{errors.__name}</p>}
                </div>
                {props.types.length > 1 && (
                    <div class="field">
                        <label for="create-conn-type" class="field-label">
                            Connection type
                        </label>
                        <select id="create-conn-type" value={typeName} onChange={(e) => setTypeName(e.currentTarget.value)}>
                            {props.types.map((t) => (
                                <option key={t.name} value={t.name}>
                                    {t.label}
                                </option>
                            ))}
                        </select>
                    </div>
                )}
                <FieldList
                    key={type.name}
                    params={type.parameters}
                    values={values}
                    errors={errors}
                    idPrefix="create-conn"
                    onChange={(n, v) => {
                        setValues({ ...values, [n]: v });
                        setErrors(({ [n]: _dropped, ...rest }) => rest);
                    }}
                />
                <ScopePicker type={type} granted={[]} chosen={scopes} onChange={setScopes} idPrefix="create-conn" />
                {oauth && consent.phase.kind === 'idle' && (
                    <p class="help">Save opens a new window where you sign in to {app?.label ?? type.app} and allow access.</p>
                )}
                <ConsentStatus phase={consent.phase} onRetry={consent.open} />
                <ErrorMessage error={error} />
            </form>
        </Dialog>
    );
}

// Edit: the app's form with the current non-secret values; Save replaces the credentials (set-data), Close
// keeps them. OAuth connections show their scopes and continue to the consent window instead.
export function EditConnectionDialog(props: { connection: Connection; onClose: () => void; onSaved: (c: Connection) => void }) {
    const c = props.connection;
    const catalog = loadCatalog();
    const type = catalog.connectionType(c.accountName);
    const oauth = type ? isOAuthKind(type.kind) : c.accountType === 'oauth';
    const [schema, setSchema] = useState<EditableParameter[] | null>(null);
    const [loadError, setLoadError] = useState<unknown>(null);
    const [name, setName] = useState(c.name);
    const [values, setValues] = useState<Values>({});
    const [errors, setErrors] = useState<Record<string, string>>({});
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);
    const [extraScopes, setExtraScopes] = useState<string[]>([]);
    const consent = useConsent(async (id) => {
        try {
            props.onSaved(await api.connection(id));
        } catch (e) {
            setError(e);
        }
    });

    useEffect(() => {
        api.editableSchema(c.id).then(
            (list) => {
                setSchema(list);
                const v: Values = {};
                for (const p of list) if (!p.secret && p.value !== undefined && p.value !== null) v[p.name] = p.value;
                setValues(v);
            },
            (e) => setLoadError(e),
        );
    }, [c.id]);

    // The form's fields: the editable-data-schema, with the app's own definitions where the catalog has them.
    const params: Param[] = useMemo(
        () =>
            (schema ?? []).map((s) => {
                const def = type?.parameters.find((p) => p.name === s.name);
                const secret = Boolean(s.secret) || (def ? isSecret(def) : false);
                return {
                    ...(def ?? {}),
                    name: s.name,
                    type: secret ? 'password' : s.type || def?.type || 'text',
                    label: s.label || def?.label || s.name,
                    help: s.help ?? def?.help,
                    advanced: s.advanced ?? def?.advanced,
                    options: s.options ?? def?.options,
                    editable: s.editable ?? def?.editable,
                    required: secret ? true : Boolean(s.required ?? def?.required),
                };
            }),
        [schema],
    );
    const locked = (p: Param) => p.editable === false || oauth;

    const submit = async (e?: Event) => {
        e?.preventDefault();
        setError(null);
        if (!name.trim()) {
            setErrors({ __name: 'Connection name is required.' });
            return;
        }
        if (oauth) {
            setBusy(true);
            try {
                if (name.trim() !== c.name) await api.renameConnection(c.id, name.trim());
                const extra = extraScopes;
                const r = await api.reauthorize(c.id, extra);
                if (r.wouldBreak.length > 0) consent.setPhase({ kind: 'confirm', authorizeUrl: r.authorizeUrl, wouldBreak: r.wouldBreak, extra });
                else consent.open(r.authorizeUrl);
            } catch (err) {
                setError(err);
            } finally {
                setBusy(false);
            }
            return;
        }
        const editable = params.filter((p) => !locked(p));
        const errs = validateParams(editable, values);
        setErrors(errs);
        if (Object.keys(errs).length) {
            document.getElementById(`edit-conn-${Object.keys(errs)[0]}`)?.focus();
            return;
        }
        setBusy(true);
        try {
            const data: Values = {};
            for (const p of editable) if (values[p.name] !== undefined) data[p.name] = values[p.name];
            if (name.trim() !== c.name) await api.renameConnection(c.id, name.trim());
            const r = await api.setData(c.id, data);
            props.onSaved(r.connection);
        } catch (err) {
            setError(err);
            setBusy(false);
        }
    };

    const addMissing = async () => {
        if (consent.phase.kind !== 'confirm') return;
        const missing = new Set(consent.phase.extra);
        consent.phase.wouldBreak.forEach((w) => w.missingScopes.forEach((s) => missing.add(s)));
        setBusy(true);
        try {
            const r = await api.reauthorize(c.id, [...missing]);
            consent.open(r.authorizeUrl);
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };

    const phase = consent.phase;
    return (
        <Dialog
            title={`Edit ${c.name}`}
            onClose={props.onClose}
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Close
                    </button>
                    {phase.kind === 'confirm' ? (
                        <>
                            <button type="button" class="button" disabled={busy} onClick={addMissing}>
                                Add the missing scopes
                            </button>
                            <button type="button" class="button button-primary" onClick={() => consent.open(phase.authorizeUrl)}>
                                Continue
                            </button>
                        </>
                    ) : (
                        <button
                            type="submit"
                            form="edit-conn-form"
                            class="button button-primary"
                            disabled={busy || !schema || phase.kind === 'waiting'}
                        >
                            {busy ? 'Saving…' : phase.kind === 'waiting' ? 'Waiting for access…' : 'Save'}
                        </button>
                    )}
                </>
            }
        >
            <form id="edit-conn-form" class="form" onSubmit={submit} noValidate>
                <div class="dialog-app">
                    <AppIcon label={c.appLabel || c.packageName} theme={c.theme} />
                    <span>
                        {c.appLabel || c.packageName} · {c.accountLabel || c.accountName}
                    </span>
                </div>
                <div class="field">
                    <label for="edit-conn-name" class="field-label is-required">
                        Connection name
                    </label>
                    <input id="edit-conn-name" type="text" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
                    {errors.__name && <p class="field-error">{errors.__name}</p>}
                </div>
                {!schema && !loadError && <Spinner label="Loading the form" />}
                <ErrorMessage error={loadError} />
                {schema && oauth && <OAuthSettings params={params} values={values} />}
                {schema && !oauth && (
                    <>
                        {params.some((p) => isSecret(p)) && (
                            <p class="help">Secret fields are not shown. Enter them again to save: Save replaces the whole connection.</p>
                        )}
                        <FieldList
                            params={params}
                            values={values}
                            errors={errors}
                            idPrefix="edit-conn"
                            disabled={locked}
                            placeholder={(p) => (isSecret(p) ? (oauth ? 'Kept; changed by reauthorizing' : 'Enter it again') : undefined)}
                            onChange={(n, v) => {
                        setValues({ ...values, [n]: v });
                        setErrors(({ [n]: _dropped, ...rest }) => rest);
                    }}
                        />
                        {params.some((p) => p.editable === false) && (
                            <p class="help">Greyed-out fields cannot change; create a new connection to use other values.</p>
                        )}
                    </>
                )}
                {oauth && (
                    <>
                        {type && Object.keys(type.scopes).length > 0 ? (
                            <ScopePicker type={type} granted={c.scopes} chosen={extraScopes} onChange={setExtraScopes} idPrefix="edit-conn" />
                        ) : (
                            <div class="field">
                                <span class="field-label">Granted scopes</span>
                                <p class="scope-chips">
                                    {c.scopes.length ? c.scopes.map((s) => <code key={s}>{s}</code>) : <span class="muted">none</span>}
                                </p>
                                <p class="help">This connection asks for the scopes in its settings.</p>
                            </div>
                        )}
                        {phase.kind === 'idle' && (
                            <p class="help">Save continues in a new window where you allow access again; the connection keeps its name and every scenario using it.</p>
                        )}
                    </>
                )}
                {phase.kind === 'confirm' && <WouldBreakList list={phase.wouldBreak} />}
                <ConsentStatus phase={phase} onRetry={consent.open} />
                <ErrorMessage error={error} />
            </form>
        </Dialog>
    );
}

// An OAuth connection's settings, read-only: they were fixed at creation; only consent changes the connection.
function OAuthSettings(props: { params: Param[]; values: Values }) {
    const shown = props.params.filter((p) => !isSecret(p) && props.values[p.name] !== undefined && props.values[p.name] !== '');
    if (shown.length === 0) return null;
    const text = (p: Param, v: unknown): string => {
        if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') || '—';
        const option = p.options?.find((o) => String(o.value) === String(v));
        return option ? option.label : typeof v === 'object' ? JSON.stringify(v) : String(v);
    };
    return (
        <div class="settings-box">
            <span class="field-label">Connection settings</span>
            <dl class="settings-list">
                {shown.map((p) => (
                    <div key={p.name}>
                        <dt>{p.label}</dt>
                        <dd>{text(p, props.values[p.name])}</dd>
                    </div>
                ))}
            </dl>
            <p class="help">Fixed when the connection was created; create a new connection to use other settings.</p>
        </div>
    );
}

// Reauthorize: asks the server for a consent URL; lists scenarios that would lose scopes before opening it.
export function ReauthorizeDialog(props: { connection: Connection; onClose: () => void; onDone: (c: Connection) => void }) {
    const c = props.connection;
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);
    const consent = useConsent(async (id) => {
        try {
            props.onDone(await api.connection(id));
        } catch (e) {
            setError(e);
        }
    });
    const start = async (extra: string[]) => {
        setBusy(true);
        setError(null);
        try {
            const r = await api.reauthorize(c.id, extra);
            if (r.wouldBreak.length > 0 && extra.length === 0) {
                consent.setPhase({ kind: 'confirm', authorizeUrl: r.authorizeUrl, wouldBreak: r.wouldBreak, extra });
            } else {
                consent.open(r.authorizeUrl);
            }
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    };
    // Reauthorize starts at once (the click that opened this dialog lets the window open).
    useEffect(() => {
        void start([]);
    }, [c.id]);
    const phase = consent.phase;
    return (
        <Dialog
            title={`Reauthorize ${c.name}`}
            onClose={props.onClose}
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Close
                    </button>
                    {phase.kind === 'confirm' && (
                        <button
                            type="button"
                            class="button"
                            disabled={busy}
                            onClick={() => start([...new Set(phase.wouldBreak.flatMap((w) => w.missingScopes))])}
                        >
                            Add the missing scopes
                        </button>
                    )}
                    {phase.kind === 'confirm' && (
                        <button type="button" class="button button-primary" onClick={() => consent.open(phase.authorizeUrl)}>
                            Continue
                        </button>
                    )}
                    {(phase.kind === 'failed' || (phase.kind === 'idle' && Boolean(error))) && (
                        <button type="button" class="button button-primary" disabled={busy} onClick={() => start([])}>
                            Try again
                        </button>
                    )}
                </>
            }
        >
            <div class="dialog-app">
                <AppIcon label={c.appLabel || c.packageName} theme={c.theme} />
                <span>{c.appLabel || c.packageName}</span>
            </div>
            <p>
                Sign in to {c.appLabel || c.packageName} in the new window and allow access again. The connection keeps its name, its
                id and every scenario that uses it; only its tokens change.
            </p>
            {busy && phase.kind === 'idle' && <Spinner label="Starting" />}
            <p class="muted small">
                {c.status === 'pending' ? 'Asked for' : 'Granted now'}:{' '}
                {c.scopes.length ? c.scopes.map((s) => <code key={s}>{s}</code>) : 'no scopes'}
            </p>
            {phase.kind === 'confirm' && <WouldBreakList list={phase.wouldBreak} />}
            <ConsentStatus phase={phase} onRetry={consent.open} />
            <ErrorMessage error={error} />
        </Dialog>
    );
}

// Scheduling (Make's "Run scenario" settings, plus cron) and the scenario's settings and inputs.
import { useState } from 'preact/hooks';
import type { Blueprint, ScenarioInput, Scheduling } from '../types';
import { Dialog, ErrorMessage } from '../ui';

const typeLabels: Record<string, string> = {
    indefinitely: 'At regular intervals',
    once: 'Once',
    daily: 'Every day',
    weekly: 'Days of the week',
    monthly: 'Days of the month',
    cron: 'Cron expression',
    'on-demand': 'On demand',
};

const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function describeSchedule(s: Scheduling): string {
    const tz = s.timezone && s.timezone !== 'UTC' ? ` (${s.timezone})` : '';
    switch (s.type) {
        case 'indefinitely': {
            const minutes = Math.round((s.interval ?? 900) / 60);
            return `Every ${minutes} minute${minutes === 1 ? '' : 's'}`;
        }
        case 'once':
            return `Once, ${s.date ?? ''}${tz}`;
        case 'daily':
            return `Every day at ${s.time ?? '00:00'}${tz}`;
        case 'weekly':
            return `${(s.days ?? []).map((d) => dayNames[d % 7]?.slice(0, 3)).join(', ') || 'No days'} at ${s.time ?? '00:00'}${tz}`;
        case 'monthly':
            return `Days ${(s.dates ?? []).join(', ') || '—'} of the month at ${s.time ?? '00:00'}${tz}`;
        case 'cron':
            return `Cron ${s.cron ?? ''}${tz}`;
        case 'immediately':
            return 'Immediately as data arrives';
        default:
            return 'On demand';
    }
}

function zones(): string[] {
    const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
    const list = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
    return ['UTC', ...list.filter((z) => z !== 'UTC')];
}

export function ScheduleDialog(props: {
    scheduling: Scheduling;
    instant: boolean;
    hookUrl: string | null;
    onClose: () => void;
    onSave: (s: Scheduling) => void;
}) {
    const s0 = props.scheduling;
    const [type, setType] = useState(s0.type === 'immediately' ? 'on-demand' : s0.type);
    const [minutes, setMinutes] = useState(String(Math.round((s0.interval ?? 900) / 60)));
    const [time, setTime] = useState(s0.time ?? '08:00');
    const [date, setDate] = useState(s0.date ?? '');
    const [days, setDays] = useState<number[]>(s0.days ?? [1]);
    const [dates, setDates] = useState((s0.dates ?? [1]).join(', '));
    const [cron, setCron] = useState(s0.cron ?? '*/15 * * * *');
    const [timezone, setTimezone] = useState(s0.timezone ?? 'UTC');
    const [start, setStart] = useState(s0.start ?? '');
    const [end, setEnd] = useState(s0.end ?? '');
    const [error, setError] = useState<unknown>(null);

    const save = (e: Event) => {
        e.preventDefault();
        const s: Scheduling = { type, timezone };
        if (type === 'indefinitely') {
            const m = Number(minutes);
            if (!Number.isInteger(m) || m < 1) return setError(new Error('Minutes must be a whole number, at least 1.'));
            s.interval = m * 60;
        } else if (type === 'once') {
            if (!date) return setError(new Error('Choose the date and time.'));
            s.date = date;
        } else if (type === 'daily') {
            s.time = time;
        } else if (type === 'weekly') {
            if (days.length === 0) return setError(new Error('Choose at least one day.'));
            s.days = [...days].sort();
            s.time = time;
        } else if (type === 'monthly') {
            const list = dates.split(/[\s,]+/).filter(Boolean).map(Number);
            if (list.length === 0 || list.some((d) => !Number.isInteger(d) || d < 1 || d > 31))
                return setError(new Error('Days of the month are numbers from 1 to 31, separated by commas.'));
            s.dates = list;
            s.time = time;
        } else if (type === 'cron') {
            if (cron.trim().split(/\s+/).length !== 5 && !cron.trim().startsWith('@')) return setError(new Error('A cron expression has five fields.'));
            s.cron = cron.trim();
        }
        if (type !== 'on-demand' && type !== 'once') {
            if (start) s.start = start;
            if (end) s.end = end;
        }
        props.onSave(s);
    };

    if (props.instant) {
        return (
            <Dialog title="Schedule settings" onClose={props.onClose} footer={<button type="button" class="button button-primary" onClick={props.onClose}>OK</button>}>
                <p>
                    This scenario starts with a webhook: it runs <strong>immediately as data arrives</strong> while scheduling is on.
                </p>
                {props.hookUrl ? (
                    <p>
                        Send data to <code class="break">{props.hookUrl}</code>
                    </p>
                ) : (
                    <p class="muted">Save the scenario to get its webhook URL.</p>
                )}
            </Dialog>
        );
    }

    const needsTime = type === 'daily' || type === 'weekly' || type === 'monthly';
    return (
        <Dialog
            title="Schedule settings"
            onClose={props.onClose}
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Cancel
                    </button>
                    <button type="submit" form="schedule-form" class="button button-primary">
                        OK
                    </button>
                </>
            }
        >
            <form id="schedule-form" class="form" onSubmit={save}>
                <div class="field">
                    <label for="schedule-type" class="field-label">
                        Run scenario
                    </label>
                    <select id="schedule-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                        {Object.entries(typeLabels).map(([v, l]) => (
                            <option key={v} value={v}>
                                {l}
                            </option>
                        ))}
                    </select>
                </div>
                {type === 'indefinitely' && (
                    <div class="field">
                        <label for="schedule-minutes" class="field-label">
                            Minutes
                        </label>
                        <input id="schedule-minutes" type="number" min={1} value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
                    </div>
                )}
                {type === 'once' && (
                    <div class="field">
                        <label for="schedule-date" class="field-label">
                            Date
                        </label>
                        <input id="schedule-date" type="datetime-local" value={date.slice(0, 16)} onInput={(e) => setDate(e.currentTarget.value)} />
                    </div>
                )}
                {type === 'weekly' && (
                    <fieldset class="field">
                        <legend class="field-label">Days</legend>
                        <div class="day-list">
                            {dayNames.map((d, i) => (
                                <label key={d} class="day">
                                    <input
                                        type="checkbox"
                                        checked={days.includes(i)}
                                        onChange={(e) => setDays(e.currentTarget.checked ? [...days, i] : days.filter((x) => x !== i))}
                                    />
                                    {d}
                                </label>
                            ))}
                        </div>
                    </fieldset>
                )}
                {type === 'monthly' && (
                    <div class="field">
                        <label for="schedule-dates" class="field-label">
                            Days of the month
                        </label>
                        <input id="schedule-dates" type="text" value={dates} onInput={(e) => setDates(e.currentTarget.value)} aria-describedby="schedule-dates-help" />
                        <p class="help" id="schedule-dates-help">
                            Separated by commas, e.g. 1, 15. A day past the month's end runs on its last day.
                        </p>
                    </div>
                )}
                {type === 'cron' && (
                    <div class="field">
                        <label for="schedule-cron" class="field-label">
                            Cron expression
                        </label>
                        <input id="schedule-cron" type="text" value={cron} spellcheck={false} onInput={(e) => setCron(e.currentTarget.value)} aria-describedby="schedule-cron-help" />
                        <p class="help" id="schedule-cron-help">
                            Minute, hour, day of month, month, day of week, e.g. <code>*/15 9-17 * * MON-FRI</code>.
                        </p>
                    </div>
                )}
                {needsTime && (
                    <div class="field">
                        <label for="schedule-time" class="field-label">
                            Time
                        </label>
                        <input id="schedule-time" type="time" value={time} onInput={(e) => setTime(e.currentTarget.value)} />
                    </div>
                )}
                {type !== 'on-demand' && (
                    <div class="field">
                        <label for="schedule-timezone" class="field-label">
                            Time zone
                        </label>
                        <select id="schedule-timezone" value={timezone} onChange={(e) => setTimezone(e.currentTarget.value)}>
                            {zones().map((z) => (
                                <option key={z} value={z}>
                                    {z}
                                </option>
                            ))}
                        </select>
                    </div>
                )}
                {type !== 'on-demand' && type !== 'once' && (
                    <div class="field-row">
                        <div class="field">
                            <label for="schedule-start" class="field-label">
                                Start
                            </label>
                            <input id="schedule-start" type="date" value={start.slice(0, 10)} onInput={(e) => setStart(e.currentTarget.value)} />
                        </div>
                        <div class="field">
                            <label for="schedule-end" class="field-label">
                                End
                            </label>
                            <input id="schedule-end" type="date" value={end.slice(0, 10)} onInput={(e) => setEnd(e.currentTarget.value)} />
                        </div>
                    </div>
                )}
                {type === 'on-demand' && <p class="help">The scenario runs only when you click Run once, or through the API.</p>}
                <ErrorMessage error={error} />
            </form>
        </Dialog>
    );
}

const inputTypes = ['text', 'number', 'boolean', 'date', 'json', 'array', 'collection'];

export function SettingsDialog(props: {
    blueprint: Blueprint;
    inputs: ScenarioInput[];
    onClose: () => void;
    onSave: (bp: Blueprint, inputs: ScenarioInput[]) => void;
}) {
    const sc = (props.blueprint.metadata?.scenario ?? {}) as Record<string, unknown>;
    const [maxErrors, setMaxErrors] = useState(String(sc.maxErrors ?? 3));
    const [sequential, setSequential] = useState(Boolean(sc.sequential));
    const [confidential, setConfidential] = useState(Boolean(sc.confidential));
    const [dlq, setDlq] = useState(Boolean(sc.dlq));
    const [inputs, setInputs] = useState<ScenarioInput[]>(props.inputs.map((i) => ({ ...i })));
    const [error, setError] = useState<unknown>(null);

    const save = (e: Event) => {
        e.preventDefault();
        const n = Number(maxErrors);
        if (!Number.isInteger(n) || n < 1) return setError(new Error('Number of consecutive errors must be a whole number, at least 1.'));
        const names = new Set<string>();
        for (const i of inputs) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(i.name)) return setError(new Error(`Input name “${i.name}” may hold only letters, digits and _, and not start with a digit.`));
            if (names.has(i.name)) return setError(new Error(`Two inputs are named “${i.name}”.`));
            names.add(i.name);
        }
        const metadata = { ...(props.blueprint.metadata ?? {}), scenario: { ...sc, maxErrors: n, sequential, confidential, dlq } };
        props.onSave({ ...props.blueprint, metadata }, inputs.map((i) => (i.default === '' ? { ...i, default: undefined } : i)));
    };

    const setInput = (k: number, patch: Partial<ScenarioInput>) => setInputs(inputs.map((x, j) => (j === k ? { ...x, ...patch } : x)));
    return (
        <Dialog
            title="Scenario settings"
            onClose={props.onClose}
            wide
            footer={
                <>
                    <button type="button" class="button" onClick={props.onClose}>
                        Cancel
                    </button>
                    <button type="submit" form="settings-form" class="button button-primary">
                        OK
                    </button>
                </>
            }
        >
            <form id="settings-form" class="form" onSubmit={save}>
                <div class="field field-checkbox">
                    <input id="settings-sequential" type="checkbox" checked={sequential} onChange={(e) => setSequential(e.currentTarget.checked)} />
                    <label for="settings-sequential">Sequential processing</label>
                </div>
                <div class="field field-checkbox">
                    <input id="settings-confidential" type="checkbox" checked={confidential} onChange={(e) => setConfidential(e.currentTarget.checked)} />
                    <label for="settings-confidential">Data is confidential</label>
                    <p class="help">Module inputs and outputs are not kept in the execution history.</p>
                </div>
                <div class="field field-checkbox">
                    <input id="settings-dlq" type="checkbox" checked={dlq} onChange={(e) => setDlq(e.currentTarget.checked)} />
                    <label for="settings-dlq">Allow storing of incomplete executions</label>
                </div>
                <div class="field">
                    <label for="settings-max-errors" class="field-label">
                        Number of consecutive errors
                    </label>
                    <input id="settings-max-errors" type="number" min={1} value={maxErrors} onInput={(e) => setMaxErrors(e.currentTarget.value)} />
                    <p class="help">Scheduling turns off after this many failed runs in a row.</p>
                </div>
                <fieldset class="field">
                    <legend class="field-label">Scenario inputs</legend>
                    <p class="help">
                        Values each run receives, read as <code>{'{{var.input.name}}'}</code>; a dynamic connection can pick its member by one.
                    </p>
                    {inputs.length === 0 && <p class="muted small">No inputs.</p>}
                    {inputs.map((input, k) => (
                        <div class="input-row" key={k}>
                            <div class="field">
                                <label for={`input-${k}-name`} class="field-label">
                                    Name
                                </label>
                                <input id={`input-${k}-name`} value={input.name} onInput={(e) => setInput(k, { name: e.currentTarget.value })} />
                            </div>
                            <div class="field">
                                <label for={`input-${k}-type`} class="field-label">
                                    Type
                                </label>
                                <select id={`input-${k}-type`} value={input.type} onChange={(e) => setInput(k, { type: e.currentTarget.value })}>
                                    {inputTypes.map((t) => (
                                        <option key={t} value={t}>
                                            {t}
                                        </option>
                                    ))}
                                </select>
                            </div>
                            <div class="field">
                                <label for={`input-${k}-default`} class="field-label">
                                    Default
                                </label>
                                <input
                                    id={`input-${k}-default`}
                                    value={input.default === undefined || input.default === null ? '' : String(input.default)}
                                    onInput={(e) => setInput(k, { default: e.currentTarget.value })}
                                />
                            </div>
                            <div class="field field-checkbox">
                                <input id={`input-${k}-required`} type="checkbox" checked={Boolean(input.required)} onChange={(e) => setInput(k, { required: e.currentTarget.checked })} />
                                <label for={`input-${k}-required`}>Required</label>
                            </div>
                            <button type="button" class="button button-small button-ghost" onClick={() => setInputs(inputs.filter((_, j) => j !== k))}>
                                Remove
                            </button>
                        </div>
                    ))}
                    <button type="button" class="button button-small" onClick={() => setInputs([...inputs, { name: `input${inputs.length + 1}`, type: 'text' }])}>
                        + Add input
                    </button>
                </fieldset>
                <ErrorMessage error={error} />
            </form>
        </Dialog>
    );
}

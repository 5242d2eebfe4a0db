// Form fields for app parameters (connection forms and module forms), and the picker that inserts {{…}}
// references to earlier modules' outputs into mappable fields.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Param } from './catalog';

export interface PickerItem {
    moduleId: number;
    moduleLabel: string;
    path: string; // e.g. "data.email"
    label: string;
    sample?: string;
}

export type Values = Record<string, unknown>;

export function isEmpty(v: unknown): boolean {
    return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

// Client-side checks mirroring the server's (required, pattern, length, range); the server checks again.
export function validateParams(params: Param[], values: Values, opts: { skipSecrets?: boolean } = {}): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const p of params) {
        const v = values[p.name];
        if (p.required && isEmpty(v) && p.type !== 'boolean') {
            if (opts.skipSecrets && isSecret(p)) continue;
            errors[p.name] = `${p.label} is required.`;
            continue;
        }
        if (isEmpty(v) || typeof v !== 'string' || v.includes('{{')) continue;
        const rule = p.validate;
        if (rule?.pattern) {
            try {
                if (!new RegExp(rule.pattern).test(v)) errors[p.name] = `${p.label} does not have the expected format.`;
            } catch {
                // A pattern JavaScript cannot compile is left to the server.
            }
        }
        if (p.type !== 'number') {
            if (rule?.min !== undefined && v.length < rule.min) errors[p.name] = `${p.label} needs at least ${rule.min} characters.`;
            if (rule?.max !== undefined && v.length > rule.max) errors[p.name] = `${p.label} may have at most ${rule.max} characters.`;
        }
        if (p.type === 'email' && !/^[^@\s]+@[^@\s]+$/.test(v)) errors[p.name] = `${p.label} must be an email address.`;
    }
    return errors;
}

export function isSecret(p: { type: string; sensitive?: boolean; secret?: boolean }): boolean {
    return p.type === 'password' || Boolean(p.sensitive) || Boolean(p.secret);
}

export function defaultsFor(params: Param[]): Values {
    const out: Values = {};
    for (const p of params) if (p.default !== undefined) out[p.name] = p.default;
    return out;
}

function numberOrText(text: string, mappable: boolean): unknown {
    const t = text.trim();
    if (t === '') return undefined;
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    return mappable ? text : text;
}

const multiline = new Set(['body', 'data', 'json', 'text', 'html', 'content', 'query', 'message']);

export function ParamField(props: {
    param: Param;
    value: unknown;
    onChange: (v: unknown) => void;
    idPrefix: string;
    picker?: PickerItem[]; // present: the field is mappable
    error?: string;
    disabled?: boolean;
    placeholder?: string;
    moduleChoices?: Array<{ id: number; label: string }>;
    hideLabel?: boolean; // the label is read by screen readers only (items of a list)
}) {
    const { param: p } = props;
    const id = `${props.idPrefix}-${p.name}`;
    const helpId = p.help ? `${id}-help` : undefined;
    const errId = props.error ? `${id}-error` : undefined;
    const describedBy = [helpId, errId].filter(Boolean).join(' ') || undefined;
    const label = (
        <label for={id} class={`field-label${p.required ? ' is-required' : ''}${props.hideLabel ? ' visually-hidden' : ''}`}>
            {p.label}
        </label>
    );
    const help = p.help && (
        <p class="help" id={helpId}>
            {p.help}
        </p>
    );
    const error = props.error && (
        <p class="field-error" id={errId}>
            {props.error}
        </p>
    );

    if (p.type === 'boolean') {
        return (
            <div class="field field-checkbox">
                <input
                    id={id}
                    type="checkbox"
                    checked={props.value === true || props.value === 'true'}
                    disabled={props.disabled}
                    aria-describedby={describedBy}
                    onChange={(e) => props.onChange(e.currentTarget.checked)}
                />
                {label}
                {help}
                {error}
            </div>
        );
    }

    if (p.type === 'select') {
        const options = p.options ?? [];
        const index = options.findIndex((o) => String(o.value) === String(props.value));
        return (
            <div class="field">
                {label}
                <select
                    id={id}
                    value={index >= 0 ? String(index) : ''}
                    disabled={props.disabled}
                    required={p.required}
                    aria-invalid={props.error ? true : undefined}
                    aria-describedby={describedBy}
                    onChange={(e) => {
                        const i = e.currentTarget.value;
                        props.onChange(i === '' ? undefined : options[Number(i)]?.value);
                    }}
                >
                    {(!p.required || index < 0) && <option value="">{p.required ? 'Choose…' : '—'}</option>}
                    {options.map((o, i) => (
                        <option key={String(o.value)} value={String(i)}>
                            {o.label}
                        </option>
                    ))}
                </select>
                {help}
                {error}
            </div>
        );
    }

    if (p.type === 'module') {
        const choices = props.moduleChoices ?? [];
        return (
            <div class="field">
                {label}
                <select
                    id={id}
                    value={props.value === undefined ? '' : String(props.value)}
                    required={p.required}
                    aria-describedby={describedBy}
                    onChange={(e) => props.onChange(e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))}
                >
                    <option value="">Choose a module…</option>
                    {choices.map((c) => (
                        <option key={c.id} value={String(c.id)}>
                            {c.label}
                        </option>
                    ))}
                </select>
                {help}
                {error}
            </div>
        );
    }

    if (p.type === 'array') {
        return (
            <fieldset class="field field-array" aria-describedby={describedBy}>
                <legend class={`field-label${p.required ? ' is-required' : ''}`}>{p.label}</legend>
                {help}
                <ArrayEditor {...props} id={id} />
                {error}
            </fieldset>
        );
    }

    const text = props.value === undefined || props.value === null ? '' : typeof props.value === 'string' ? props.value : typeof props.value === 'object' ? JSON.stringify(props.value) : String(props.value);
    const inputType = props.picker
        ? 'text'
        : p.type === 'password'
          ? 'password'
          : p.type === 'email'
            ? 'email'
            : p.type === 'url'
              ? 'url'
              : p.type === 'number'
                ? 'number'
                : 'text';
    const convert = (t: string): unknown => (p.type === 'number' ? numberOrText(t, Boolean(props.picker)) : t === '' ? undefined : t);
    return (
        <div class="field">
            {label}
            <MappableInput
                id={id}
                type={inputType}
                multiline={Boolean(props.picker) && multiline.has(p.name)}
                value={text}
                required={p.required}
                disabled={props.disabled}
                describedBy={describedBy}
                invalid={Boolean(props.error)}
                placeholder={props.placeholder}
                autoComplete={p.type === 'password' ? 'new-password' : 'off'}
                picker={props.picker}
                onChange={(t) => props.onChange(convert(t))}
            />
            {help}
            {error}
        </div>
    );
}

function ArrayEditor(props: {
    param: Param;
    value: unknown;
    onChange: (v: unknown) => void;
    id: string;
    picker?: PickerItem[];
    disabled?: boolean;
}) {
    const p = props.param;
    const items: unknown[] = Array.isArray(props.value) ? props.value : [];
    const spec = p.spec;
    const set = (i: number, v: unknown) => {
        const next = items.slice();
        next[i] = v;
        props.onChange(next);
    };
    return (
        <div class="array-editor">
            {items.length === 0 && <p class="muted small">No items.</p>}
            {items.map((item, i) =>
                spec ? (
                    <div class="array-item" key={i}>
                        <span class="array-item-title">Item {i + 1}</span>
                        <div class="array-item-fields">
                            {spec.map((sp) => (
                                <ParamField
                                    key={sp.name}
                                    param={sp}
                                    idPrefix={`${props.id}-${i}`}
                                    value={(item as Values | null)?.[sp.name]}
                                    picker={props.picker}
                                    disabled={props.disabled}
                                    onChange={(v) => set(i, { ...((item as Values) ?? {}), [sp.name]: v })}
                                />
                            ))}
                        </div>
                        <button
                            type="button"
                            class="button button-small button-ghost"
                            disabled={props.disabled}
                            aria-label={`Remove item ${i + 1} of ${p.label}`}
                            onClick={() => props.onChange(items.filter((_, j) => j !== i))}
                        >
                            Remove
                        </button>
                    </div>
                ) : (
                    <div class="array-row" key={i}>
                        <ParamField
                            param={{ name: 'value', type: 'text', label: `${p.label} ${i + 1}` }}
                            idPrefix={`${props.id}-${i}`}
                            value={item}
                            picker={props.picker}
                            disabled={props.disabled}
                            hideLabel
                            onChange={(v) => set(i, v ?? '')}
                        />
                        <button
                            type="button"
                            class="button button-small button-ghost"
                            disabled={props.disabled}
                            aria-label={`Remove ${p.label} ${i + 1}`}
                            onClick={() => props.onChange(items.filter((_, j) => j !== i))}
                        >
                            Remove
                        </button>
                    </div>
                ),
            )}
            <button
                type="button"
                class="button button-small"
                disabled={props.disabled}
                onClick={() => props.onChange([...items, spec ? {} : ''])}
                aria-label={`Add item to ${p.label}`}
            >
                + Add item
            </button>
        </div>
    );
}

// A text field that accepts {{…}} templates, with a button listing earlier modules' outputs to insert.
export function MappableInput(props: {
    id: string;
    type: string;
    value: string;
    onChange: (v: string) => void;
    multiline?: boolean;
    required?: boolean;
    disabled?: boolean;
    describedBy?: string;
    invalid?: boolean;
    placeholder?: string;
    autoComplete?: string;
    picker?: PickerItem[];
}) {
    const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
    const [open, setOpen] = useState(false);
    const [filter, setFilter] = useState('');
    const caret = useRef<number | null>(null);
    const popRef = useRef<HTMLDivElement>(null);

    useEffect(() => {
        if (!open) return;
        const onDoc = (e: MouseEvent) => {
            if (popRef.current && !popRef.current.contains(e.target as Node)) setOpen(false);
        };
        document.addEventListener('mousedown', onDoc);
        return () => document.removeEventListener('mousedown', onDoc);
    }, [open]);

    const remember = () => {
        caret.current = ref.current?.selectionStart ?? null;
    };

    const insert = (item: PickerItem) => {
        const token = `{{${item.moduleId}.${item.path}}}`;
        const at = caret.current ?? props.value.length;
        const next = props.value.slice(0, at) + token + props.value.slice(at);
        props.onChange(next);
        setOpen(false);
        setFilter('');
        window.setTimeout(() => {
            const el = ref.current;
            if (!el) return;
            el.focus();
            const pos = at + token.length;
            el.setSelectionRange(pos, pos);
        }, 0);
    };

    const common = {
        id: props.id,
        ref,
        value: props.value,
        required: props.required,
        disabled: props.disabled,
        placeholder: props.placeholder,
        'aria-describedby': props.describedBy,
        'aria-invalid': props.invalid ? true : undefined,
        autoComplete: props.autoComplete,
        spellcheck: false,
        onInput: (e: Event) => props.onChange((e.currentTarget as HTMLInputElement).value),
        onKeyUp: remember,
        onClick: remember,
        onBlur: remember,
    };
    const field = props.multiline ? <textarea rows={3} {...common} /> : <input type={props.type} {...common} />;
    if (!props.picker) return field;

    const items = props.picker.filter((i) =>
        `${i.moduleLabel} ${i.label} ${i.path}`.toLowerCase().includes(filter.trim().toLowerCase()),
    );
    const groups = new Map<number, PickerItem[]>();
    for (const i of items) groups.set(i.moduleId, [...(groups.get(i.moduleId) ?? []), i]);
    const listId = `${props.id}-picker`;
    return (
        <div class="mappable" ref={popRef}>
            <div class="mappable-row">
                {field}
                <button
                    type="button"
                    class="button button-small map-button"
                    aria-haspopup="true"
                    aria-expanded={open}
                    aria-controls={open ? listId : undefined}
                    disabled={props.disabled}
                    title="Insert a value from an earlier module"
                    onMouseDown={remember}
                    onClick={() => setOpen(!open)}
                >
                    {'{ }'}
                    <span class="visually-hidden"> Map a value into {props.id}</span>
                </button>
            </div>
            {open && (
                <div class="picker" id={listId} role="group" aria-label="Outputs of earlier modules">
                    <input
                        type="search"
                        class="picker-search"
                        aria-label="Search outputs"
                        placeholder="Search outputs"
                        value={filter}
                        autoFocus
                        onInput={(e) => setFilter(e.currentTarget.value)}
                        onKeyDown={(e) => {
                            if (e.key === 'Escape') {
                                e.stopPropagation();
                                setOpen(false);
                                ref.current?.focus();
                            }
                        }}
                    />
                    {props.picker.length === 0 && (
                        <p class="muted small picker-empty">
                            No earlier module has outputs yet. Add a module before this one, or use Run once to see what it returns.
                        </p>
                    )}
                    {props.picker.length > 0 && items.length === 0 && <p class="muted small picker-empty">Nothing matches.</p>}
                    {[...groups.entries()].map(([moduleId, list]) => (
                        <div class="picker-group" key={moduleId}>
                            <div class="picker-group-title">
                                <span class="module-number">{moduleId}</span> {list[0]!.moduleLabel}
                            </div>
                            <ul>
                                {list.map((i) => (
                                    <li key={i.path}>
                                        <button
                                            type="button"
                                            class="picker-item"
                                            onKeyDown={(e) => {
                                                if (e.key === 'Escape') {
                                                    e.stopPropagation();
                                                    setOpen(false);
                                                    ref.current?.focus();
                                                }
                                            }}
                                            onClick={() => insert(i)}
                                        >
                                            <span class="picker-item-label">{i.label}</span>
                                            <code>{`{{${i.moduleId}.${i.path}}}`}</code>
                                            {i.sample !== undefined && <span class="picker-sample">{i.sample}</span>}
                                        </button>
                                    </li>
                                ))}
                            </ul>
                        </div>
                    ))}
                </div>
            )}
        </div>
    );
}

// Module inputs and output bundles from an execution's log, shown as a readable tree.
import type { Execution, ModuleLog } from './types';

export function parseJsonText(text: string | undefined): unknown {
    if (text === undefined || text === null || text === '') return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

// The bundles one log entry output (its `output` is JSON text of an array of bundles, or one value).
export function bundlesOf(entry: ModuleLog): unknown[] {
    const v = parseJsonText(entry.output);
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [v];
}

export interface ModuleRun {
    moduleId: number;
    module: string;
    operations: number;
    entries: ModuleLog[];
    error?: { type: string; message: string };
}

// Groups an execution's log by module: one module may run once per bundle of the module before it.
export function runsByModule(execution: Execution | null): Map<number, ModuleRun> {
    const out = new Map<number, ModuleRun>();
    for (const entry of execution?.modules ?? []) {
        const run = out.get(entry.moduleId) ?? { moduleId: entry.moduleId, module: entry.module, operations: 0, entries: [] };
        run.operations += entry.operations;
        run.entries.push(entry);
        if (entry.error) run.error = entry.error;
        out.set(entry.moduleId, run);
    }
    return out;
}

export function ValueTree(props: { value: unknown; name?: string; depth?: number }) {
    const depth = props.depth ?? 0;
    const v = props.value;
    const label = props.name !== undefined ? <span class="tree-key">{props.name}</span> : null;
    if (v !== null && typeof v === 'object') {
        const entries = Array.isArray(v) ? v.map((x, i) => [String(i + 1), x] as const) : Object.entries(v as Record<string, unknown>);
        const summary = Array.isArray(v) ? `Array (${v.length})` : `Collection (${entries.length})`;
        return (
            <details class="tree" open={depth < 4}>
                <summary>
                    {label} <span class="tree-type">{summary}</span>
                </summary>
                <div class="tree-children">
                    {entries.length === 0 && <span class="muted small">empty</span>}
                    {entries.map(([k, x]) => (
                        <ValueTree key={k} name={k} value={x} depth={depth + 1} />
                    ))}
                </div>
            </details>
        );
    }
    const text = v === undefined ? '' : v === null ? 'null' : typeof v === 'string' ? v : JSON.stringify(v);
    return (
        <div class="tree-leaf">
            {label}
            <span class={`tree-value tree-${v === null ? 'null' : typeof v}`}>{text === '' ? <em>empty</em> : text}</span>
        </div>
    );
}

// Input and output of each operation of one module.
export function ModuleRunDetails(props: { run: ModuleRun }) {
    return (
        <div class="run-details">
            {props.run.entries.map((entry, i) => {
                const bundles = bundlesOf(entry);
                const input = parseJsonText(entry.input);
                return (
                    <section class="operation" key={i} aria-label={`Operation ${i + 1}`}>
                        <h3>Operation {i + 1}</h3>
                        {entry.error && (
                            <p class="exec-error">
                                <strong>{entry.error.type}</strong>: {entry.error.message}
                            </p>
                        )}
                        {input !== undefined && (
                            <div class="io">
                                <h4>Input</h4>
                                <ValueTree value={input} />
                            </div>
                        )}
                        <div class="io">
                            <h4>Output</h4>
                            {bundles.length === 0 && <p class="muted small">No bundles.</p>}
                            {bundles.map((b, j) => (
                                <div class="bundle" key={j}>
                                    <ValueTree name={`Bundle ${j + 1}`} value={b} />
                                </div>
                            ))}
                        </div>
                        {entry.requests && entry.requests.length > 0 && (
                            <div class="io">
                                <h4>Requests</h4>
                                <ul class="requests">
                                    {entry.requests.map((r, k) => (
                                        <li key={k}>
                                            <code>
                                                {r.method} {r.url}
                                            </code>{' '}
                                            → {r.status} <span class="muted small">({r.elapsedMs} ms)</span>
                                        </li>
                                    ))}
                                </ul>
                            </div>
                        )}
                    </section>
                );
            })}
            {props.run.entries.length === 0 && <p class="muted">This module did not run.</p>}
        </div>
    );
}

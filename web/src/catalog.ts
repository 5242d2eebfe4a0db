// The app catalog as the UI sees it: apps, their connection types (fields, scopes) and their modules (fields,
// outputs). The built-in apps' definitions come from src/generated/catalog.json (scripts/build-catalog.mjs,
// from ../apps at build time); the modules that need no app file (webhooks, JSON, tools, flow control, "Make
// an API call") are described here, after docs/scenarios.md.
import generated from './generated/catalog.json';

export interface Param {
    name: string;
    // App field types, plus three of the UI's own: "json" (free JSON or text), "keyvalues" (any number of
    // name/value pairs stored as the mapper's own keys) and "module" (the id of an earlier module).
    type: string;
    label: string;
    help?: string;
    required?: boolean;
    advanced?: boolean;
    editable?: boolean;
    sensitive?: boolean;
    options?: Array<{ label: string; value: string | number | boolean }>;
    default?: unknown;
    spec?: Param[];
    validate?: { pattern?: string; min?: number; max?: number };
}

export interface OutputField {
    name: string;
    label?: string;
    type?: string;
}

export interface ConnectionTypeDef {
    name: string; // the accountName, e.g. "http-apikey"
    app: string;
    kind: string; // basic, apikey, other, oauth, oauth-refresh, oauth-clicre
    label: string;
    scope: string[]; // default scopes
    scopes: Record<string, string>; // every known scope with its description
    parameters: Param[];
}

export interface ModuleDef {
    id: string; // "app:name"
    app: string;
    name: string;
    type: string; // trigger, instant, action, search, universal
    label: string;
    description?: string;
    connectionTypes: string[]; // the types whose connections the module takes (empty: none)
    connectionRequired: boolean;
    scope: string[];
    parameters: Param[]; // static: stored in the blueprint's `parameters`
    expect: Param[]; // mappable: stored in `mapper`
    interface: OutputField[];
    pickable: boolean; // offered by the "+" search
}

export interface AppDef {
    name: string;
    label: string;
    description: string;
    theme: string;
    connections: ConnectionTypeDef[];
    modules: ModuleDef[];
}

interface RawParam extends Param {}
interface RawApp {
    name: string;
    label: string;
    description?: string;
    theme?: string;
    hasBaseUrl?: boolean;
    connections: Record<string, { type: string; label: string; scope?: string[]; scopes?: Record<string, string>; parameters: RawParam[] }>;
    modules: Record<
        string,
        {
            type: string;
            label: string;
            description?: string;
            connection?: string;
            scope?: string[];
            interface?: OutputField[];
            parameters: RawParam[];
            expect: RawParam[];
        }
    >;
}

const methodOptions = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => ({ label: m, value: m }));
const keyValueSpec: Param[] = [
    { name: 'key', type: 'text', label: 'Name', required: true },
    { name: 'value', type: 'text', label: 'Value' },
];

function builtinModule(app: string, name: string, m: Partial<ModuleDef> & { label: string }): ModuleDef {
    return {
        id: `${app}:${name}`,
        app,
        name,
        type: 'action',
        connectionTypes: [],
        connectionRequired: false,
        scope: [],
        parameters: [],
        expect: [],
        interface: [],
        pickable: true,
        ...m,
    };
}

function builtinApps(httpTypes: string[]): AppDef[] {
    return [
        {
            name: 'gateway',
            label: 'Webhooks',
            description: 'Start a scenario when data arrives at its own URL, and answer the sender.',
            theme: '#c7328e',
            connections: [],
            modules: [
                builtinModule('gateway', 'CustomWebHook', {
                    type: 'instant',
                    label: 'Custom webhook',
                    description: 'Starts the scenario when data is sent to its URL. Each item becomes a bundle.',
                }),
                builtinModule('gateway', 'WebhookRespond', {
                    label: 'Webhook response',
                    description: 'Sets the answer the webhook sends back.',
                    expect: [
                        { name: 'status', type: 'number', label: 'Status', required: true, default: 200 },
                        { name: 'body', type: 'text', label: 'Body' },
                        { name: 'headers', type: 'array', label: 'Custom headers', spec: keyValueSpec, advanced: true },
                    ],
                }),
            ],
        },
        {
            name: 'json',
            label: 'JSON',
            description: 'Parse JSON text into bundles, or create JSON text from fields.',
            theme: '#4d5f73',
            connections: [],
            modules: [
                builtinModule('json', 'ParseJSON', {
                    label: 'Parse JSON',
                    description: 'Parses JSON text. An array gives one bundle per item.',
                    expect: [{ name: 'json', type: 'text', label: 'JSON string', required: true }],
                }),
                builtinModule('json', 'CreateJSON', {
                    label: 'Create JSON',
                    description: 'Serialises the fields below into JSON text.',
                    expect: [{ name: '*', type: 'keyvalues', label: 'Fields' }],
                    interface: [{ name: 'json', label: 'JSON string', type: 'text' }],
                }),
            ],
        },
        {
            name: 'util',
            label: 'Tools',
            description: 'Variables and pauses.',
            theme: '#8a6d00',
            connections: [],
            modules: [
                builtinModule('util', 'SetVariable2', {
                    label: 'Set variable',
                    description: 'Outputs one value under a name.',
                    expect: [
                        { name: 'name', type: 'text', label: 'Variable name', required: true },
                        { name: 'value', type: 'text', label: 'Variable value' },
                    ],
                }),
                builtinModule('util', 'FunctionSleep', {
                    label: 'Sleep',
                    description: 'Pauses the run.',
                    expect: [{ name: 'duration', type: 'number', label: 'Delay (seconds)', required: true, help: '0 to 300 seconds.' }],
                }),
            ],
        },
        {
            name: 'builtin',
            label: 'Flow control',
            description: 'Iterators, aggregators, routers and error handlers.',
            theme: '#6b7a8c',
            connections: [],
            modules: [
                builtinModule('builtin', 'BasicFeeder', {
                    label: 'Iterator',
                    description: 'Turns an array into one bundle per item.',
                    expect: [{ name: 'array', type: 'text', label: 'Array', required: true, help: 'Map an array, e.g. {{1.items}}.' }],
                }),
                builtinModule('builtin', 'BasicAggregator', {
                    label: 'Array aggregator',
                    description: 'Collects the bundles of an earlier module into one array.',
                    parameters: [{ name: 'feeder', type: 'module', label: 'Source module', required: true }],
                    interface: [
                        { name: 'array', label: 'Array', type: 'array' },
                        { name: '__IMTAGGLENGTH__', label: 'Total number of bundles', type: 'number' },
                    ],
                }),
                builtinModule('builtin', 'BasicRouter', { label: 'Router', pickable: false }),
                ...['Ignore', 'Resume', 'Break', 'Rollback', 'Commit'].map((d) =>
                    builtinModule('builtin', d, { label: d, pickable: false }),
                ),
            ],
        },
        // http:ActionSendData joins the HTTP app's own modules (see loadCatalog).
        {
            name: 'http',
            label: 'HTTP',
            description: '',
            theme: '#008cff',
            connections: [],
            modules: [
                builtinModule('http', 'ActionSendData', {
                    label: 'Send a request with any HTTP connection',
                    description: 'Sends any request; the chosen HTTP connection adds its credentials.',
                    connectionTypes: httpTypes,
                    expect: [
                        { name: 'url', type: 'url', label: 'URL', required: true },
                        { name: 'method', type: 'select', label: 'Method', required: true, default: 'GET', options: methodOptions },
                        { name: 'headers', type: 'array', label: 'Headers', spec: keyValueSpec },
                        { name: 'qs', type: 'array', label: 'Query string', spec: keyValueSpec },
                        {
                            name: 'bodyType',
                            type: 'select',
                            label: 'Body type',
                            default: 'raw',
                            options: [
                                { label: 'Raw', value: 'raw' },
                                { label: 'application/x-www-form-urlencoded', value: 'x_www_form_urlencoded' },
                                { label: 'Multipart/form-data', value: 'multipart_form_data' },
                            ],
                        },
                        { name: 'data', type: 'text', label: 'Request content' },
                        { name: 'contentType', type: 'text', label: 'Content type', advanced: true },
                        { name: 'parseResponse', type: 'boolean', label: 'Parse response', default: true },
                        { name: 'handleErrors', type: 'boolean', label: 'Evaluate all states as errors (except for 2xx and 3xx)', default: true, advanced: true },
                        { name: 'timeout', type: 'number', label: 'Timeout (seconds)', advanced: true },
                    ],
                    interface: [
                        { name: 'statusCode', label: 'Status code', type: 'number' },
                        { name: 'headers', label: 'Headers', type: 'collection' },
                        { name: 'data', label: 'Data', type: 'any' },
                    ],
                }),
            ],
        },
    ];
}

function apiCallModule(app: RawApp): ModuleDef {
    return builtinModule(app.name, 'makeApiCall', {
        type: 'universal',
        label: 'Make an API call',
        description: `Sends any request to ${app.label}'s API with the connection's credentials.`,
        connectionTypes: Object.keys(app.connections),
        connectionRequired: true,
        expect: [
            { name: 'url', type: 'text', label: 'URL', required: true, help: 'A path under the API\'s base URL, starting with /.' },
            { name: 'method', type: 'select', label: 'Method', required: true, default: 'GET', options: methodOptions },
            { name: 'headers', type: 'array', label: 'Headers', spec: keyValueSpec },
            { name: 'qs', type: 'array', label: 'Query String', spec: keyValueSpec },
            { name: 'body', type: 'text', label: 'Body' },
        ],
        interface: [
            { name: 'statusCode', label: 'Status code', type: 'number' },
            { name: 'headers', label: 'Headers', type: 'collection' },
            { name: 'body', label: 'Body', type: 'any' },
        ],
    });
}

export class Catalog {
    readonly apps: AppDef[];
    private readonly modules = new Map<string, ModuleDef>();
    private readonly types = new Map<string, ConnectionTypeDef>();
    private readonly appsByName = new Map<string, AppDef>();

    constructor(apps: AppDef[]) {
        this.apps = apps;
        for (const app of apps) {
            this.appsByName.set(app.name, app);
            for (const m of app.modules) this.modules.set(m.id, m);
            for (const t of app.connections) this.types.set(t.name, t);
        }
    }

    app(name: string): AppDef | undefined {
        return this.appsByName.get(name);
    }

    module(id: string): ModuleDef | undefined {
        return this.modules.get(id);
    }

    connectionType(name: string): ConnectionTypeDef | undefined {
        return this.types.get(name);
    }

    appOfModule(id: string): AppDef | undefined {
        return this.appsByName.get(id.split(':')[0] ?? '');
    }
}

export function isOAuthKind(kind: string): boolean {
    return kind === 'oauth' || kind === 'oauth-refresh';
}

function fromRaw(raw: RawApp[]): AppDef[] {
    const httpRaw = raw.find((a) => a.name === 'http');
    const builtins = builtinApps(httpRaw ? Object.keys(httpRaw.connections) : []);
    const apps: AppDef[] = raw.map((a) => {
        const connections = Object.entries(a.connections).map(
            ([name, c]): ConnectionTypeDef => ({
                name,
                app: a.name,
                kind: c.type,
                label: c.label,
                scope: c.scope ?? [],
                scopes: c.scopes ?? {},
                parameters: c.parameters ?? [],
            }),
        );
        const modules = Object.entries(a.modules).map(
            ([name, m]): ModuleDef => ({
                id: `${a.name}:${name}`,
                app: a.name,
                name,
                type: m.type,
                label: m.label,
                description: m.description,
                connectionTypes: m.connection ? [m.connection] : [],
                connectionRequired: Boolean(m.connection),
                scope: m.scope ?? [],
                parameters: m.parameters ?? [],
                expect: m.expect ?? [],
                interface: m.interface ?? [],
                pickable: true,
            }),
        );
        if (a.hasBaseUrl && connections.length > 0) modules.push(apiCallModule(a));
        return {
            name: a.name,
            label: a.label,
            description: a.description ?? '',
            theme: a.theme ?? '#5b6b7b',
            connections,
            modules,
        };
    });
    for (const b of builtins) {
        const existing = apps.find((a) => a.name === b.name);
        if (existing) existing.modules.push(...b.modules);
        else apps.push(b);
    }
    apps.sort((x, y) => x.label.localeCompare(y.label));
    return apps;
}

let cached: Catalog | null = null;

export function loadCatalog(): Catalog {
    if (!cached) cached = new Catalog(fromRaw((generated as unknown as { apps: RawApp[] }).apps));
    return cached;
}

// Two letters for an app's round icon.
export function initials(label: string): string {
    const words = label.replace(/[^A-Za-z0-9 ]/g, ' ').split(/\s+/).filter(Boolean);
    if (words.length === 0) return '?';
    if (words.length === 1) return words[0]!.slice(0, 2).toUpperCase();
    return (words[0]![0]! + words[1]![0]!).toUpperCase();
}

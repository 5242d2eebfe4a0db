// Shapes of the REST API's answers (docs/api.md, docs/openapi.json). Only what the UI reads.

export interface User {
    id: number;
    email: string;
    name: string;
}

export interface SessionTeam {
    id: number;
    name: string;
    role: string;
}

export interface SessionInfo {
    user: User;
    teams: SessionTeam[];
    csrfToken: string;
}

export interface Team {
    id: number;
    name: string;
}

export interface Member {
    userId: number;
    teamId: number;
    email: string;
    name: string;
    role: string;
}

export interface AuditEvent {
    id: number;
    teamId: number;
    userId: number | null;
    action: string;
    target: string;
    detail: Record<string, unknown> | string | null;
    created: string;
}

export type ConnectionStatus = 'verified' | 'unverified' | 'failed' | 'needs_reauthorization' | 'pending' | 'broken';

export interface Connection {
    id: number;
    name: string;
    accountName: string; // the connection type, e.g. "http-apikey"
    accountLabel: string;
    accountType: string; // the kind: basic, apikey, other, oauth
    packageName: string; // the app
    appLabel: string;
    theme: string;
    teamId: number;
    metadata: { type: string; value: string } | null;
    scopes: string[];
    requestedScopes?: string[];
    partialGrant?: boolean;
    editable: boolean;
    status: ConnectionStatus;
    statusMessage: string | null;
    lastVerified: string | null;
    created: string;
    updated: string;
    usedIn: number;
    version: number;
}

export interface EditableParameter {
    name: string;
    type: string;
    label: string;
    help?: string;
    required?: boolean;
    advanced?: boolean;
    secret?: boolean;
    editable?: boolean;
    value?: unknown;
    options?: Array<{ label: string; value: string | number | boolean }>;
}

export interface WouldBreak {
    scenarioId: number;
    scenarioName: string;
    missingScopes: string[];
}

export interface Usage {
    scenarioId: number;
    scenarioName: string;
    isActive: boolean;
    isScheduled: boolean;
    requiredScopes: string[];
}

export interface DynamicConnection {
    id: number;
    name: string;
    teamId: number;
    connectionType: string;
    defaultConnectionId: number | null;
    connections: Array<{ connectionId: number; label: string }>;
    created: string;
    updated: string;
}

export interface Scheduling {
    type: string;
    interval?: number;
    date?: string;
    time?: string;
    days?: number[];
    dates?: number[];
    cron?: string;
    timezone?: string;
    start?: string;
    end?: string;
}

export interface ScenarioInput {
    name: string;
    type: string;
    label?: string;
    required?: boolean;
    default?: unknown;
}

export interface Scenario {
    id: number;
    name: string;
    teamId: number;
    isActive: boolean;
    isinvalid: boolean;
    invalidReason: string | null;
    consecutiveErrors: number;
    scheduling: Scheduling;
    interface: { input: ScenarioInput[] };
    hookUrl: string | null;
    nextExec: string | null;
    usedPackages: string[];
    trigger: string | null;
    created: string;
    lastEdit: string;
    version: number;
}

export type Mapper = Record<string, unknown>;

export interface BlueprintModule {
    id: number;
    module: string;
    version?: number;
    parameters?: Record<string, unknown> | null;
    mapper?: Mapper | null;
    filter?: unknown;
    routes?: Array<{ flow: BlueprintModule[] }>;
    onerror?: BlueprintModule[];
    metadata?: Record<string, unknown>;
    [key: string]: unknown;
}

export interface Blueprint {
    name: string;
    flow: BlueprintModule[];
    metadata?: Record<string, unknown> & { scenario?: Record<string, unknown> };
    [key: string]: unknown;
}

export interface ScenarioBlueprintResponse {
    code: string;
    response: { blueprint: Blueprint; scheduling: Scheduling; interface: { input: ScenarioInput[] } };
}

export interface ExecutionError {
    type: string;
    message: string;
    moduleId: number | null;
}

export interface ModuleLog {
    moduleId: number;
    module: string;
    operations: number;
    connectionId?: number;
    dynamicConnectionId?: number;
    label?: string;
    input?: string;
    output?: string;
    requests?: Array<{ method: string; url: string; status: number; elapsedMs: number }>;
    error?: { type: string; message: string };
}

export interface Execution {
    id: number;
    scenarioId: number;
    teamId: number;
    status: string;
    trigger: string;
    operations: number;
    attempts: number;
    created: string;
    started: string | null;
    finished: string | null;
    duration: number | null;
    error: ExecutionError | null;
    connections?: Array<{ moduleId: number; connectionId: number; dynamicConnectionId?: number; label?: string }>;
    modules?: ModuleLog[];
}

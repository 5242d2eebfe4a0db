// The one way the UI talks to the server: the public REST API under /api/v2, with the session cookie
// (sent by the browser) and the CSRF token on every state-changing request.
import type {
    AuditEvent,
    Connection,
    DynamicConnection,
    EditableParameter,
    Execution,
    Member,
    Scenario,
    ScenarioBlueprintResponse,
    SessionInfo,
    Team,
    Usage,
    WouldBreak,
} from './types';

export interface SubError {
    message?: string;
    detail?: string;
    code?: string;
    [key: string]: unknown;
}

// Make's error body: {"message", "detail", "code", "suberrors"}.
export class ApiError extends Error {
    readonly status: number;
    readonly detail: string;
    readonly code: string;
    readonly suberrors: SubError[];

    constructor(status: number, message: string, detail: string, code: string, suberrors: SubError[]) {
        super(message);
        this.status = status;
        this.detail = detail;
        this.code = code;
        this.suberrors = suberrors;
    }

    // What to show: the detail when it says more than the message.
    describe(): string {
        if (this.detail && this.detail !== this.message) return `${this.message}: ${this.detail}`;
        return this.message;
    }
}

let csrfToken = '';
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string): void {
    csrfToken = token;
}

// Called when any request other than the session probe answers 401 (the session ended).
export function setUnauthorizedHandler(handler: (() => void) | null): void {
    onUnauthorized = handler;
}

export function errorText(e: unknown): string {
    if (e instanceof ApiError) return e.describe();
    if (e instanceof Error) return e.message;
    return String(e);
}

type Query = Record<string, string | number | boolean | undefined | Array<string | number>>;

function withQuery(path: string, query?: Query): string {
    if (!query) return path;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) v.forEach((item) => params.append(k, String(item)));
        else params.append(k, String(v));
    }
    const qs = params.toString();
    return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

export async function request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; quiet401?: boolean } = {},
): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') {
        if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
        response = await fetch(withQuery(path, options.query), {
            method,
            headers,
            body,
            credentials: 'same-origin',
        });
    } catch {
        throw new ApiError(0, 'The server could not be reached', 'Check your network connection and try again.', 'NETWORK', []);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = undefined;
        }
    }
    if (!response.ok) {
        const e = (data ?? {}) as { message?: string; detail?: string; code?: string; suberrors?: SubError[] };
        const err = new ApiError(
            response.status,
            e.message ?? `The server answered ${response.status}`,
            e.detail ?? '',
            e.code ?? `SC${response.status}`,
            Array.isArray(e.suberrors) ? e.suberrors : [],
        );
        if (response.status === 401 && !options.quiet401 && onUnauthorized) onUnauthorized();
        throw err;
    }
    return data as T;
}

const get = <T>(path: string, query?: Query) => request<T>('GET', path, { query });
const post = <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body, query });
const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body });
const del = <T>(path: string, query?: Query) => request<T>('DELETE', path, { query });

export const api = {
    // Sign-in
    login: (email: string, password: string) =>
        request<SessionInfo>('POST', '/api/v2/auth/login', { body: { email, password }, quiet401: true }),
    setup: (token: string, password: string) =>
        request<SessionInfo>('POST', '/api/v2/auth/setup', { body: { token, password }, quiet401: true }),
    session: () => request<SessionInfo>('GET', '/api/v2/auth/session', { quiet401: true }),
    logout: () => request<void>('POST', '/api/v2/auth/logout', { quiet401: true }),

    // Teams
    teams: () => get<{ teams: Team[] }>('/api/v2/teams').then((r) => r.teams),
    members: (teamId: number) => get<{ members: Member[] }>(`/api/v2/teams/${teamId}/members`).then((r) => r.members),
    addMember: (teamId: number, email: string, role: string) =>
        post<{ member: Member }>(`/api/v2/teams/${teamId}/members`, { email, role }).then((r) => r.member),
    removeMember: (teamId: number, userId: number) => del(`/api/v2/teams/${teamId}/members/${userId}`),
    audit: (teamId: number) =>
        get<{ auditEvents: AuditEvent[] }>('/api/v2/audit', { teamId, 'pg[limit]': 200 }).then((r) => r.auditEvents),

    // Connections
    connections: (teamId: number) =>
        get<{ connections: Connection[] }>('/api/v2/connections', { teamId }).then((r) => r.connections),
    connection: (id: number) => get<{ connection: Connection }>(`/api/v2/connections/${id}`).then((r) => r.connection),
    createConnection: (teamId: number, body: { name: string; type: string; scopes: string[]; data: Record<string, unknown> }) =>
        post<{ connection: Connection; authorizeUrl?: string }>('/api/v2/connections', body, { teamId }),
    renameConnection: (id: number, name: string) =>
        patch<{ connection: Connection }>(`/api/v2/connections/${id}`, { name }).then((r) => r.connection),
    editableSchema: (id: number) =>
        get<{ editableParameters: EditableParameter[] }>(`/api/v2/connections/${id}/editable-data-schema`).then(
            (r) => r.editableParameters,
        ),
    setData: (id: number, data: Record<string, unknown>) =>
        post<{ changed: boolean; connection: Connection; wouldBreak: WouldBreak[] }>(`/api/v2/connections/${id}/set-data`, data),
    verify: (id: number) =>
        post<{ verified: boolean; message?: string; connection: Connection }>(`/api/v2/connections/${id}/test`),
    reauthorize: (id: number, scopes: string[]) =>
        post<{ authorizeUrl: string; wouldBreak: WouldBreak[] }>(
            `/api/v2/connections/${id}/reauthorize`,
            scopes.length ? { scopes } : undefined,
        ),
    usage: (id: number) => get<{ usage: Usage[] }>(`/api/v2/connections/${id}/usage`).then((r) => r.usage),
    deleteConnection: (id: number) =>
        del<{ connection: number; revocation?: string }>(`/api/v2/connections/${id}`, { confirmed: 'true' }),

    // Dynamic connections
    dynamicConnections: (teamId: number) =>
        get<{ dynamicConnections: DynamicConnection[] }>('/api/v2/dynamic-connections', { teamId }).then(
            (r) => r.dynamicConnections,
        ),
    createDynamicConnection: (teamId: number, body: Partial<DynamicConnection>) =>
        post<{ dynamicConnection: DynamicConnection }>('/api/v2/dynamic-connections', body, { teamId }).then(
            (r) => r.dynamicConnection,
        ),
    updateDynamicConnection: (id: number, body: Partial<DynamicConnection>) =>
        patch<{ dynamicConnection: DynamicConnection }>(`/api/v2/dynamic-connections/${id}`, body).then(
            (r) => r.dynamicConnection,
        ),
    deleteDynamicConnection: (id: number) => del(`/api/v2/dynamic-connections/${id}`, { confirmed: 'true' }),

    // Scenarios
    scenarios: (teamId: number) =>
        get<{ scenarios: Scenario[] }>('/api/v2/scenarios', { teamId, 'pg[limit]': 1000 }).then((r) => r.scenarios),
    scenario: (id: number) => get<{ scenario: Scenario }>(`/api/v2/scenarios/${id}`).then((r) => r.scenario),
    blueprint: (id: number) =>
        get<ScenarioBlueprintResponse>(`/api/v2/scenarios/${id}/blueprint`).then((r) => r.response),
    createScenario: (teamId: number, body: Record<string, unknown>) =>
        post<{ scenario: Scenario }>('/api/v2/scenarios', body, { teamId }).then((r) => r.scenario),
    updateScenario: (id: number, body: Record<string, unknown>) =>
        patch<{ scenario: Scenario }>(`/api/v2/scenarios/${id}`, body).then((r) => r.scenario),
    deleteScenario: (id: number) => del(`/api/v2/scenarios/${id}`),
    startScenario: (id: number) => post<{ scenario: Scenario }>(`/api/v2/scenarios/${id}/start`).then((r) => r.scenario),
    stopScenario: (id: number) => post<{ scenario: Scenario }>(`/api/v2/scenarios/${id}/stop`).then((r) => r.scenario),
    runScenario: (id: number, data?: Record<string, unknown>) =>
        post<{ executionId: number; status: string; execution: Execution }>(
            `/api/v2/scenarios/${id}/run`,
            data ? { data, responsive: true } : { responsive: true },
        ),
    logs: (id: number) =>
        get<{ scenarioLogs: Execution[] }>(`/api/v2/scenarios/${id}/logs`, { 'pg[limit]': 100 }).then((r) => r.scenarioLogs),
    execution: (scenarioId: number, executionId: number) =>
        get<{ execution: Execution }>(`/api/v2/scenarios/${scenarioId}/executions/${executionId}`).then((r) => r.execution),
};

// Sign-in and first-admin setup.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { SessionInfo } from '../types';
import { ErrorMessage, Notice } from '../ui';

function AuthFrame(props: { title: string; children: preact.ComponentChildren }) {
    return (
        <main class="auth-page" id="main">
            <div class="auth-card">
                <div class="brand brand-large" aria-hidden="true">
                    <span class="brand-mark" />
                    Switchboard
                </div>
                <h1 tabIndex={-1}>{props.title}</h1>
                {props.children}
            </div>
        </main>
    );
}

export function SignInPage(props: { onSignedIn: (s: SessionInfo) => void; notice?: string }) {
    const [email, setEmail] = useState('');
    const [password, setPassword] = useState('');
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);

    const submit = async (e: Event) => {
        e.preventDefault();
        setError(null);
        if (!email.trim() || !password) {
            setError(new Error('Enter your email and password.'));
            return;
        }
        setBusy(true);
        try {
            props.onSignedIn(await api.login(email.trim(), password));
        } catch (err) {
            setError(
                err instanceof ApiError && err.status === 401
                    ? new Error('The email or password is not correct.')
                    : err,
            );
            setBusy(false);
        }
    };

    return (
        <AuthFrame title="Sign in">
            {props.notice && <Notice kind="info">{props.notice}</Notice>}
            <form onSubmit={submit} class="form" noValidate>
                <div class="field">
                    <label for="signin-email">Email</label>
                    <input
                        id="signin-email"
                        type="email"
                        autoComplete="username"
                        required
                        value={email}
                        onInput={(e) => setEmail(e.currentTarget.value)}
                    />
                </div>
                <div class="field">
                    <label for="signin-password">Password</label>
                    <input
                        id="signin-password"
                        type="password"
                        autoComplete="current-password"
                        required
                        value={password}
                        onInput={(e) => setPassword(e.currentTarget.value)}
                    />
                </div>
                <ErrorMessage error={error} />
                <button type="submit" class="button button-primary button-block" disabled={busy}>
                    {busy ? 'Signing in…' : 'Sign in'}
                </button>
            </form>
        </AuthFrame>
    );
}

const minPassword = 10; // accounts::kMinPasswordLength

export function SetupPage(props: { token: string; onSignedIn: (s: SessionInfo) => void }) {
    const [password, setPassword] = useState('');
    const [repeat, setRepeat] = useState('');
    const [error, setError] = useState<unknown>(null);
    const [busy, setBusy] = useState(false);

    const submit = async (e: Event) => {
        e.preventDefault();
        setError(null);
        if (password.length < minPassword) {
            setError(new Error(`Choose a password of at least ${minPassword} characters.`));
            return;
        }
        if (password !== repeat) {
            setError(new Error('The two passwords are not the same.'));
            return;
        }
        setBusy(true);
        try {
            props.onSignedIn(await api.setup(props.token, password));
        } catch (err) {
            setError(
                err instanceof ApiError && (err.status === 401 || err.status === 404)
                    ? new Error('This set-up link is not valid any more. Start the server again to get a new one.')
                    : err,
            );
            setBusy(false);
        }
    };

    if (!props.token) {
        return (
            <AuthFrame title="Set up Switchboard">
                <ErrorMessage error={new Error('The set-up link has no token. Copy the whole link that the server printed.')} />
            </AuthFrame>
        );
    }
    return (
        <AuthFrame title="Set up Switchboard">
            <p class="muted">Choose the password of the administrator account.</p>
            <form onSubmit={submit} class="form" noValidate>
                <div class="field">
                    <label for="setup-password">Password</label>
                    <input
                        id="setup-password"
                        type="password"
                        autoComplete="new-password"
                        required
                        minLength={minPassword}
                        value={password}
                        onInput={(e) => setPassword(e.currentTarget.value)}
                        aria-describedby="setup-password-help"
                    />
                    <p class="help" id="setup-password-help">
                        At least {minPassword} characters.
                    </p>
                </div>
                <div class="field">
                    <label for="setup-repeat">Repeat the password</label>
                    <input
                        id="setup-repeat"
                        type="password"
                        autoComplete="new-password"
                        required
                        value={repeat}
                        onInput={(e) => setRepeat(e.currentTarget.value)}
                    />
                </div>
                <ErrorMessage error={error} />
                <button type="submit" class="button button-primary button-block" disabled={busy}>
                    {busy ? 'Saving…' : 'Save and sign in'}
                </button>
            </form>
        </AuthFrame>
    );
}

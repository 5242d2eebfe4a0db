// The OAuth consent window. The server's callback page (/oauth/cb/{app}) posts
// {"type": "switchboard:oauth", "ok", "connectionId", "message"} to window.opener (same origin) and closes itself.
export interface ConsentResult {
    ok: boolean;
    connectionId: number;
    message: string;
}

export class ConsentWindowError extends Error {}

const features = 'popup=yes,width=600,height=720';

// Opens the authorize URL in a new window and resolves when the callback page reports, or rejects when the
// window is blocked or closed before it does.
export function openConsentWindow(authorizeUrl: string): Promise<ConsentResult> {
    const popup = window.open(authorizeUrl, 'switchboard-oauth', features);
    if (!popup) {
        return Promise.reject(
            new ConsentWindowError('The browser blocked the window that grants access. Allow pop-up windows for this site and try again.'),
        );
    }
    popup.focus();
    return new Promise((resolve, reject) => {
        let done = false;
        const finish = () => {
            done = true;
            window.removeEventListener('message', onMessage);
            window.clearInterval(timer);
        };
        const onMessage = (e: MessageEvent) => {
            if (e.origin !== window.location.origin) return;
            const data = e.data as Partial<ConsentResult> & { type?: string };
            if (!data || data.type !== 'switchboard:oauth') return;
            finish();
            resolve({ ok: Boolean(data.ok), connectionId: Number(data.connectionId), message: String(data.message ?? '') });
        };
        window.addEventListener('message', onMessage);
        // The window can also be closed by the user; give a message already on its way a moment to arrive.
        const timer = window.setInterval(() => {
            if (done || !popup.closed) return;
            window.clearInterval(timer);
            window.setTimeout(() => {
                if (done) return;
                finish();
                reject(new ConsentWindowError('The window was closed before access was granted.'));
            }, 500);
        }, 400);
    });
}

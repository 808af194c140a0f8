/**
 * The dashboard's shell: sign in with a Supabase URL, anon key and a user's access
 * token; then "My syncs" for everyone and "Admin" for admins.
 */
import { useEffect, useMemo, useState } from "react";
import { createSyncClient, type Me } from "../../client/mod.ts";
import { SyncProvider } from "../../client/react.ts";
import { AdminView } from "./AdminView.tsx";
import { loadSettings, saveSettings, type Settings, supabaseFor } from "./settings.ts";
import { UserView } from "./UserView.tsx";

function SignIn(
  { initial, error, onSignIn }: { initial: Settings; error: string | null; onSignIn: (s: Settings) => void },
) {
  const [s, setS] = useState(initial);
  const field = (key: keyof Settings, label: string, hint: string, type = "text") => (
    <>
      <label htmlFor={`settings-${key}`}>
        {label}
        <span className="hint" id={`settings-${key}-hint`}>{hint}</span>
      </label>
      <input
        id={`settings-${key}`}
        type={type}
        required
        value={s[key]}
        aria-describedby={`settings-${key}-hint`}
        onChange={(e) => setS({ ...s, [key]: e.target.value.trim() })}
      />
    </>
  );
  return (
    <main>
      <h2>Sign in</h2>
      <form onSubmit={(e) => (e.preventDefault(), onSignIn(s))}>
        {field(
          "url",
          "Supabase URL",
          "Your project's URL, e.g. https://abc.supabase.co (local: http://127.0.0.1:54321)",
          "url",
        )}
        {field("anonKey", "Anon key", "The project's public anon key")}
        {field(
          "token",
          "Access token",
          "A signed-in user's access token (npm start prints one for the demo user)",
          "password",
        )}
        {error && <p className="alert" role="alert">{error}</p>}
        <button className="primary" type="submit">Sign in</button>
      </form>
    </main>
  );
}

export function App() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<"user" | "admin">(location.hash === "#admin" ? "admin" : "user");
  const supabase = useMemo(() => (settings?.token ? supabaseFor(settings) : null), [settings]);

  useEffect(() => {
    loadSettings().then(setSettings);
  }, []);
  useEffect(() => {
    if (!supabase) return;
    createSyncClient(supabase).me().then(setMe, (e) => {
      setError(`${e.message.replace(/[.;]?\s*$/, ".")} Sign in again.`);
      setSettings((s) => (s ? { ...s, token: "" } : s));
    });
  }, [supabase]);
  useEffect(() => {
    location.hash = view === "admin" ? "admin" : "";
  }, [view]);

  if (!settings) return <p>Loading…</p>;
  if (!supabase || !me) {
    if (supabase && !error) return <p>Signing in…</p>;
    return (
      <SignIn
        initial={settings}
        error={error}
        onSignIn={(s) => {
          setError(null);
          saveSettings(s);
          setSettings(s);
        }}
      />
    );
  }
  const signOut = () => {
    const s = { ...settings, token: "" };
    saveSettings(s);
    setMe(null);
    setSettings(s);
  };
  return (
    <SyncProvider supabase={supabase}>
      <header>
        <h1>Tributary</h1>
        <nav aria-label="Views">
          <button
            type="button"
            aria-current={view === "user" ? "page" : undefined}
            onClick={() => setView("user")}
          >
            My syncs
          </button>
          {me.is_admin && (
            <button
              type="button"
              aria-current={view === "admin" ? "page" : undefined}
              onClick={() => setView("admin")}
            >
              Admin
            </button>
          )}
        </nav>
        <span className="muted">{me.email ?? me.id}</span>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      <main>{view === "admin" && me.is_admin ? <AdminView /> : <UserView />}</main>
    </SyncProvider>
  );
}

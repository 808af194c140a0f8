/**
 * The form for a provider's connection, built from the JSON Schemas that sync-api
 * generates from the provider's zod schemas: a field per property, required ones marked,
 * secrets as password fields, nested objects as JSON. The server validates again and
 * its 400 names the field, which is shown as is.
 */
import { useState } from "react";
import type { ProviderInfo, SyncClient } from "../../client/mod.ts";

interface Property {
  type?: string;
  default?: unknown;
  description?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
}
interface ObjectSchema {
  properties?: Record<string, Property>;
  required?: string[];
}

const human = (name: string) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/** Turns the fields of one schema into a value, or throws with the field that is wrong. */
function collect(schema: ObjectSchema, prefix: string, data: FormData): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const raw = data.get(`${prefix}.${name}`);
    if (prop.type === "boolean") {
      value[name] = raw === "on";
      continue;
    }
    const text = typeof raw === "string" ? raw.trim() : "";
    if (text === "") continue;
    if (prop.type === "number" || prop.type === "integer") value[name] = Number(text);
    else if (prop.type === "object" || prop.type === "array") {
      try {
        value[name] = JSON.parse(text);
      } catch {
        throw new Error(`${prefix}.${name}: must be JSON, such as {"key": "value"}`);
      }
    } else value[name] = text;
  }
  return value;
}

function Fields({ schema, prefix, secret }: { schema: ObjectSchema; prefix: string; secret: boolean }) {
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(schema.properties ?? {});
  if (entries.length === 0) return <p className="muted">Nothing to fill in.</p>;
  return (
    <>
      {entries.map(([name, prop]) => {
        const id = `${prefix}-${name}`;
        const hint = [
          required.has(name) ? "required" : "optional",
          prop.default !== undefined ? `default ${JSON.stringify(prop.default)}` : "",
          prop.type === "object" ? "JSON" : "",
          prop.format === "uri" ? "a URL" : "",
          prop.description ?? "",
        ].filter(Boolean).join(", ");
        const common = {
          id,
          name: `${prefix}.${name}`,
          required: required.has(name),
          "aria-describedby": `${id}-hint`,
        };
        return (
          <div key={name}>
            <label htmlFor={id}>
              {human(name)}
              <span className="hint" id={`${id}-hint`}>{hint}</span>
            </label>
            {prop.enum
              ? (
                <select {...common}>
                  {prop.enum.map((v) => <option key={String(v)}>{String(v)}</option>)}
                </select>
              )
              : prop.type === "boolean"
              ? <input {...common} type="checkbox" style={{ width: "auto" }} />
              : prop.type === "object" || prop.type === "array"
              ? <textarea {...common} spellCheck={false} />
              : (
                <input
                  {...common}
                  type={secret
                    ? "password"
                    : prop.type === "number" || prop.type === "integer"
                    ? "number"
                    : prop.format === "uri"
                    ? "url"
                    : "text"}
                  autoComplete={secret ? "new-password" : "off"}
                />
              )}
          </div>
        );
      })}
    </>
  );
}

export function ConnectionForm(
  { sync, providers, onCreated }: { sync: SyncClient; providers: ProviderInfo[]; onCreated: () => void },
) {
  const [providerName, setProviderName] = useState(providers[0]?.name ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const provider = providers.find((p) => p.name === providerName);

  async function submit(e: { preventDefault(): void; currentTarget: HTMLFormElement }) {
    e.preventDefault();
    if (!provider) return;
    const form = e.currentTarget;
    const data = new FormData(form);
    setError(null);
    setBusy(true);
    try {
      await sync.connections.create({
        provider: provider.name,
        label: String(data.get("label") ?? ""),
        account: collect(provider.account as ObjectSchema, "account", data),
        credentials: collect(provider.credentials as ObjectSchema, "credentials", data),
      });
      form.reset();
      onCreated();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="add-connection-title">
      <label htmlFor="provider">Provider</label>
      <select id="provider" value={providerName} onChange={(e) => setProviderName(e.target.value)}>
        {providers.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
      </select>
      <label htmlFor="label">Label</label>
      <input id="label" name="label" required maxLength={200} placeholder="My orders API" />
      {provider && (
        <>
          <fieldset className="card">
            <legend>Account settings</legend>
            <Fields
              key={`${provider.name}-account`}
              schema={provider.account as ObjectSchema}
              prefix="account"
              secret={false}
            />
          </fieldset>
          <fieldset className="card">
            <legend>Credentials (stored in Vault, never shown again)</legend>
            <Fields
              key={`${provider.name}-credentials`}
              schema={provider.credentials as ObjectSchema}
              prefix="credentials"
              secret
            />
          </fieldset>
        </>
      )}
      {error && <p className="alert" role="alert">{error}</p>}
      <button className="primary" type="submit" disabled={busy}>
        {busy ? "Connecting…" : "Add connection"}
      </button>
    </form>
  );
}

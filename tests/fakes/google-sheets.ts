/**
 * Fake Google Sheets API v4 (PROVIDERS.md, Google Sheets). A tenant is a spreadsheet id.
 * Requests need a bearer token the google-oauth fake issued for a spreadsheets scope,
 * to a service account the sheet is shared with (anyone's token when `shared_with` is
 * not seeded).
 *
 *   GET /v4/spreadsheets/<id>?fields=sheets.properties    each tab's title and grid size
 *   GET /v4/spreadsheets/<id>/values/<A1 range>?majorDimension=ROWS
 *
 * A1 ranges as Google reads them: an optional tab ('quoted' when it must be, '' for a
 * quote), then cells, open-ended or not (`A2:Z`, `A2:5001`, `2:10`, the bare tab). The
 * answer is `{range, majorDimension, values}` with trailing empty cells and rows
 * dropped, and no `values` at all for an empty range. Cell values are formatted strings.
 *
 * Cells are generated from (row, column) when asked, so a million-row sheet costs no
 * memory: the fake keeps only the seed, appended-row counts, deleted rows and edited
 * cells. Rows keep their identity (their `id`) when a row above them is deleted.
 */
import type { GoogleOAuthFake } from "./google-oauth.ts";
import { type FakeUpstream, hang, hashInt, requestLog, sleep, Tenants } from "./fake.ts";

const SCOPES = ["https://www.googleapis.com/auth/spreadsheets.readonly", "https://www.googleapis.com/auth/spreadsheets"];
const NAMES = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia"];
/** Above this many rows, truth gives a count and samples instead of every row. */
const TRUTH_ROWS = 2_000;

interface Tab {
  sheetId: number;
  columns: string[];
  headerRow: number;
  /** Rows generated so far (seeded and appended), deleted ones included. */
  generated: number;
  /** Generated-row indices deleted, ascending. */
  deleted: number[];
  /** Edited cells, by `${generated index}:${column index}`. */
  edits: Map<string, string>;
  /** Every n-th row leaves this column empty. */
  blankEvery: Record<string, number>;
  extraRows: number;
  gridColumns: number;
}

interface SheetsData {
  tabs: Map<string, Tab>;
  sharedWith: string[] | null;
}

interface Range {
  tab: string;
  startCol: number;
  startRow: number;
  endCol: number;
  endRow: number;
}

export function columnLetter(n: number): string {
  let s = "";
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

function columnNumber(letters: string): number {
  return [...letters.toUpperCase()].reduce((n, c) => n * 26 + c.charCodeAt(0) - 64, 0);
}

const quoteTab = (tab: string) => (/^[A-Za-z0-9_]+$/.test(tab) ? tab : `'${tab.replaceAll("'", "''")}'`);

const sheetsError = (code: number, status: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ error: { code, message, status } }, { status: code, headers });

const visibleRows = (tab: Tab) => tab.generated - tab.deleted.length;
const rowCount = (tab: Tab) => tab.headerRow + visibleRows(tab) + tab.extraRows;
const columnCount = (tab: Tab) => Math.max(tab.columns.length, tab.gridColumns);

/** The generated index of the i-th visible data row (0-based). */
function generatedIndex(tab: Tab, i: number): number {
  let g = i;
  for (const d of tab.deleted) {
    if (d <= g) g++;
    else break;
  }
  return g;
}

function cell(tab: Tab, g: number, c: number): string {
  const edited = tab.edits.get(`${g}:${c}`);
  if (edited !== undefined) return edited;
  const column = tab.columns[c] ?? "";
  const every = tab.blankEvery[column];
  if (every && g % every === every - 1) return "";
  const n = g + 1;
  switch (column.toLowerCase()) {
    case "id":
      return `ID-${String(n).padStart(6, "0")}`;
    case "name":
      return `${NAMES[hashInt(`name/${n}`, NAMES.length)]} ${n}`;
    case "amount":
      return (hashInt(`amount/${n}`, 100_000) / 100).toFixed(2);
    case "date":
      return new Date(Date.UTC(2026, 0, 1) + (n % 365) * 86_400_000).toISOString().slice(0, 10);
    default:
      return c < tab.columns.length ? `${column || `c${c + 1}`}:${n}` : "";
  }
}

/** A sheet row (1-based) as strings, before trimming; [] beyond the data. */
function sheetRow(tab: Tab, row: number): string[] {
  if (row < tab.headerRow) return row === 1 ? ["Exported report"] : [];
  if (row === tab.headerRow) return tab.columns;
  const i = row - tab.headerRow - 1;
  if (i >= visibleRows(tab)) return [];
  const g = generatedIndex(tab, i);
  return tab.columns.map((_, c) => cell(tab, g, c));
}

function trimEnd(cells: string[]): string[] {
  let n = cells.length;
  while (n > 0 && cells[n - 1] === "") n--;
  return cells.slice(0, n);
}

/** An A1 range against the spreadsheet's tabs; a string is the error to answer. */
export function parseA1(text: string, tabs: Map<string, Tab>): Range | string {
  let tab: string | undefined;
  let cells = text;
  if (text.startsWith("'")) {
    let i = 1;
    let name = "";
    for (; i < text.length; i++) {
      if (text[i] === "'" && text[i + 1] === "'") {
        name += "'";
        i++;
      } else if (text[i] === "'") break;
      else name += text[i];
    }
    if (i >= text.length) return `Unable to parse range: ${text}`;
    tab = name;
    cells = text.slice(i + 1);
    if (cells && !cells.startsWith("!")) return `Unable to parse range: ${text}`;
    cells = cells.slice(1);
  } else if (text.includes("!")) {
    tab = text.slice(0, text.indexOf("!"));
    cells = text.slice(text.indexOf("!") + 1);
  } else if (tabs.has(text) || !/^[A-Za-z]*\d*(:[A-Za-z]*\d*)?$/.test(text)) {
    tab = text;
    cells = "";
  }
  tab ??= [...tabs.keys()][0];
  const t = tab === undefined ? undefined : tabs.get(tab);
  if (!t) return `Unable to parse range: ${text}`;

  const range: Range = { tab: tab!, startCol: 1, startRow: 1, endCol: columnCount(t), endRow: rowCount(t) };
  if (cells) {
    const m = /^([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?$/.exec(cells);
    if (!m || (!m[1] && !m[2]) || (m[3] === undefined && (!m[1] || !m[2]))) return `Unable to parse range: ${text}`;
    const [, c1, r1, c2, r2] = m;
    if (c2 === undefined) {
      // A single cell.
      range.startCol = range.endCol = columnNumber(c1);
      range.startRow = range.endRow = Number(r1);
    } else {
      if (c1) range.startCol = columnNumber(c1);
      if (r1) range.startRow = Number(r1);
      if (c2) range.endCol = columnNumber(c2);
      if (r2) range.endRow = Number(r2);
    }
  }
  if (range.startRow < 1 || range.startCol < 1 || range.endRow < range.startRow || range.endCol < range.startCol) {
    return `Unable to parse range: ${text}`;
  }
  if (range.startRow > rowCount(t) || range.startCol > columnCount(t)) {
    return `Range (${quoteTab(range.tab)}!${columnLetter(range.startCol)}${range.startRow}:${columnLetter(range.endCol)}${range.endRow}) ` +
      `exceeds grid limits. Max rows: ${rowCount(t)}, max columns: ${columnCount(t)}`;
  }
  range.endRow = Math.min(range.endRow, rowCount(t));
  range.endCol = Math.min(range.endCol, columnCount(t));
  return range;
}

export class GoogleSheetsFake implements FakeUpstream {
  readonly name = "google-sheets";
  #tenants = new Tenants<SheetsData>("google-sheets");

  constructor(private readonly oauth: GoogleOAuthFake) {}

  tenant(id: string) {
    return this.#tenants.find(id);
  }

  /**
   * `{sheets: {"Sheet1": {rows: N, columns: ["id", "name", "amount", ...], header_row?: 1,
   * blank_every?: {column: n}, extra_rows?: 0, grid_columns?: 26}}, shared_with?: [client_email]}`
   */
  seed(id: string, spec: Record<string, any>) {
    const tabs = new Map<string, Tab>();
    Object.entries(spec.sheets ?? { Sheet1: { rows: 10, columns: ["id", "name", "amount"] } }).forEach(([title, s]: [string, any], i) => {
      tabs.set(title, {
        sheetId: i === 0 ? 0 : 1_000_000 + hashInt(`${id}/${title}`, 1_000_000),
        columns: s.columns ?? ["id", "name", "amount"],
        headerRow: s.header_row ?? 1,
        generated: s.rows ?? 0,
        deleted: [],
        edits: new Map(),
        blankEvery: s.blank_every ?? {},
        extraRows: s.extra_rows ?? 0,
        gridColumns: s.grid_columns ?? 26,
      });
    });
    this.#tenants.set(id, { tabs, sharedWith: spec.shared_with ?? null });
    return { sheets: Object.fromEntries([...tabs].map(([title, t]) => [title, { rowCount: rowCount(t), columnCount: columnCount(t) }])) };
  }

  /**
   * The sheet changes: `{sheet?: "Sheet1", append?: N, set?: [{row, column, value}],
   * delete_rows?: [row, ...], shared_with?: [client_email]}`. Rows are sheet row numbers as
   * they are before the change; deleting one moves the rows below it up, as in Sheets.
   */
  update(id: string, change: Record<string, any>) {
    const data = this.#tenants.get(id).data;
    if (change.shared_with !== undefined) data.sharedWith = change.shared_with;
    const tab = data.tabs.get(change.sheet ?? [...data.tabs.keys()][0]);
    if (!tab) throw new Error(`no tab ${change.sheet}`);
    const dataIndex = (row: number) => {
      const i = row - tab.headerRow - 1;
      if (i < 0 || i >= visibleRows(tab)) throw new Error(`row ${row} is not a data row`);
      return generatedIndex(tab, i);
    };
    for (const { row, column, value } of change.set ?? []) {
      const c = tab.columns.indexOf(column);
      if (c < 0) throw new Error(`no column ${column}`);
      tab.edits.set(`${dataIndex(row)}:${c}`, String(value));
    }
    const doomed = (change.delete_rows ?? []).map(dataIndex);
    tab.deleted = [...new Set([...tab.deleted, ...doomed])].sort((a, b) => a - b);
    tab.generated += change.append ?? 0;
    return { rowCount: rowCount(tab), rows: visibleRows(tab) };
  }

  /**
   * Per tab: the header, the data rows' count and, for small sheets, every data row as
   * the API returns it (trailing empty cells dropped) with its row number; for big ones
   * the first and last rows only.
   */
  truth(id: string) {
    const data = this.#tenants.get(id).data;
    return {
      sheets: Object.fromEntries([...data.tabs].map(([title, tab]) => {
        const n = visibleRows(tab);
        const row = (i: number) => ({ row_number: tab.headerRow + 1 + i, values: trimEnd(sheetRow(tab, tab.headerRow + 1 + i)) });
        const rows = n <= TRUTH_ROWS ? Array.from({ length: n }, (_, i) => row(i)) : undefined;
        return [title, {
          header: tab.columns,
          header_row: tab.headerRow,
          row_count: n,
          ...(rows ? { rows } : { first: row(0), last: row(n - 1) }),
        }];
      })),
    };
  }

  async handle(req: Request, path: string): Promise<Response> {
    const match = /^\/v4\/spreadsheets\/([^/]+)(?:\/values\/(.+))?$/.exec(path);
    if (!match || req.method !== "GET") return sheetsError(404, "NOT_FOUND", `no such method: ${req.method} ${path}`);
    const who = this.oauth.bearer(req, SCOPES);
    if ("error" in who) {
      return who.error === "insufficient_scope"
        ? sheetsError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        : sheetsError(
          401,
          "UNAUTHENTICATED",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        );
    }
    const tenant = this.#tenants.find(decodeURIComponent(match[1]));
    if (!tenant) return sheetsError(404, "NOT_FOUND", "Requested entity was not found.");
    tenant.requests.push(requestLog(req, path));
    if (tenant.delayMs) await sleep(tenant.delayMs);

    const fault = tenant.takeFault(path);
    if (fault?.kind === "rate-limit") {
      return sheetsError(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'.",
        fault.retry_after_s !== undefined ? { "retry-after": String(fault.retry_after_s) } : {},
      );
    }
    if (fault?.kind === "server-error") {
      const status = fault.status ?? 503;
      return sheetsError(status, status === 500 ? "INTERNAL" : "UNAVAILABLE", status === 500 ? "Internal error encountered." : "The service is currently unavailable.");
    }
    if (fault?.kind === "timeout") return await hang(req, fault);
    if (fault?.kind === "expired-token") this.oauth.expire(req);
    if (fault?.kind === "expired-token" || fault?.kind === "revoked" || tenant.revoked) {
      return sheetsError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
      );
    }

    const data = tenant.data;
    if (data.sharedWith && !data.sharedWith.includes(who.email)) {
      return sheetsError(403, "PERMISSION_DENIED", "The caller does not have permission");
    }

    if (match[2] === undefined) {
      return Response.json({
        sheets: [...data.tabs].map(([title, tab], index) => ({
          properties: {
            sheetId: tab.sheetId,
            title,
            index,
            sheetType: "GRID",
            gridProperties: { rowCount: rowCount(tab), columnCount: columnCount(tab) },
          },
        })),
      });
    }

    const url = new URL(req.url);
    const dimension = url.searchParams.get("majorDimension") ?? "ROWS";
    if (dimension !== "ROWS") return sheetsError(400, "INVALID_ARGUMENT", `majorDimension ${dimension} is not supported by this fake`);
    const range = parseA1(decodeURIComponent(match[2]), data.tabs);
    if (typeof range === "string") return sheetsError(400, "INVALID_ARGUMENT", range);
    const tab = data.tabs.get(range.tab)!;
    const values: string[][] = [];
    let lastNonEmpty = -1;
    for (let row = range.startRow; row <= range.endRow; row++) {
      // Past the data every row is empty: stop generating (a window may end far below it).
      if (row > tab.headerRow + visibleRows(tab)) break;
      const cells = trimEnd(sheetRow(tab, row).slice(range.startCol - 1, range.endCol));
      values.push(cells);
      if (cells.length > 0) lastNonEmpty = values.length - 1;
    }
    values.length = lastNonEmpty + 1;
    const echo = `${quoteTab(range.tab)}!${columnLetter(range.startCol)}${range.startRow}:${columnLetter(range.endCol)}${range.endRow}`;
    return Response.json({ range: echo, majorDimension: "ROWS", ...(values.length > 0 ? { values } : {}) });
  }
}

// sync-google-sheets: the worker for Google Sheets rows (PROVIDERS.md, Google Sheets).
import { googleSheets } from "../_shared/providers/google-sheets.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(googleSheets);

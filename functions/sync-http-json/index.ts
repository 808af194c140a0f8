// sync-http-json: the worker for the generic http-json provider (SPEC section 6).
import { httpJson } from "../_shared/providers/http-json.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(httpJson);

// sync-steam: the worker for Steam partner sales (PROVIDERS.md, Steam).
import { steam } from "../_shared/providers/steam.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(steam);

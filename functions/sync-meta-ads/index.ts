// sync-meta-ads: the worker for Meta ad metrics (PROVIDERS.md, Meta).
import { metaAds } from "../_shared/providers/meta-ads.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(metaAds);
